/**
 * The tenant's search vocabulary in memory: the words of names, brands and
 * tags with their product counts (search_terms, df > 0), answering what
 * typo correction and autocomplete ask of it: is a word known, its nearest
 * words within k edits, the words a prefix starts. The same answers, in the
 * same order, as the SQL it replaces (levenshtein_less_equal over
 * search_terms: distance, then most used, then the word in C collation), at
 * a fraction of the cost: at 1,000,000 products those statements were a third
 * of a search's database CPU. Kept per tenant in the catalog's two-tier cache
 * (domain/search.ts), dropped on every instance when a product write changes
 * the vocabulary.
 */

export interface Term {
  term: string;
  /** Products using the word. */
  df: number;
}

export interface WordCandidates {
  word: string;
  known: boolean;
  /** Vocabulary words within the allowed edits, closest then most used first (at most 3). */
  candidates: string[];
  /** Products using the word (known) or, else, its candidates together: an upper bound of its hits from names, brands and tags. */
  df: number;
}

/** Two rows of the edit-distance table, reused (words are at most 40 characters: text.ts). */
let rowA = new Int32Array(64);
let rowB = new Int32Array(64);

/** Levenshtein distance of `a` and `b` when at most `k`, else any number above `k` (as fuzzystrmatch's levenshtein_less_equal). */
export function boundedLevenshtein(a: string, b: string, k: number): number {
  if (Math.abs(a.length - b.length) > k) return k + 1;
  if (b.length + 1 > rowA.length) {
    rowA = new Int32Array(b.length + 1);
    rowB = new Int32Array(b.length + 1);
  }
  let previous = rowA;
  let current = rowB;
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (ca === b.charCodeAt(j - 1) ? 0 : 1));
      current[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > k) return k + 1;
    [previous, current] = [current, previous];
  }
  return Math.min(previous[b.length]!, k + 1);
}

const byDistanceThenUse = (x: Term & { d: number }, y: Term & { d: number }): number => x.d - y.d || y.df - x.df || (x.term < y.term ? -1 : x.term > y.term ? 1 : 0);

export class Vocabulary {
  readonly #df: ReadonlyMap<string, number>;
  /** Sorted by term (C order): a prefix's words are one contiguous run. */
  readonly #sorted: readonly Term[];
  /** The words by length: a word's candidates are within k of its length. */
  readonly #byLength = new Map<number, Term[]>();

  constructor(terms: readonly Term[]) {
    const used = terms.filter((t) => t.df > 0);
    this.#df = new Map(used.map((t) => [t.term, t.df]));
    this.#sorted = [...used].sort((x, y) => (x.term < y.term ? -1 : x.term > y.term ? 1 : 0));
    for (const t of used) {
      const bucket = this.#byLength.get(t.term.length);
      if (bucket) bucket.push(t);
      else this.#byLength.set(t.term.length, [t]);
    }
  }

  get size(): number {
    return this.#sorted.length;
  }

  /**
   * For each word: whether the vocabulary has it (then it is its own only candidate: search uses a known word as
   * typed), else its nearest words (at most `maxEdits[i]` edits, 3 at most).
   */
  candidates(words: readonly string[], maxEdits: readonly number[]): WordCandidates[] {
    return words.map((word, i) => {
      const known = this.#df.get(word);
      if (known !== undefined) return { word, known: true, candidates: [word], df: known };
      const k = maxEdits[i] ?? 0;
      const near: (Term & { d: number })[] = [];
      for (let length = Math.max(1, word.length - k); length <= word.length + k; length++) {
        for (const t of this.#byLength.get(length) ?? []) {
          const d = boundedLevenshtein(t.term, word, k);
          if (d <= k) near.push({ ...t, d });
        }
      }
      const best = near.sort(byDistanceThenUse).slice(0, 3);
      return { word, known: false, candidates: best.map((t) => t.term), df: best.reduce((n, t) => n + t.df, 0) };
    });
  }

  /** Words starting with `prefix` or, when none does, whose first letters are within `maxEdits` of it; most used first. */
  completions(prefix: string, maxEdits: number, limit: number): Term[] {
    const exact = this.#prefixRun(prefix).map((t) => ({ ...t, d: 0 }));
    const ranked =
      exact.length > 0
        ? exact
        : this.#sorted
            .filter((t) => t.term.length >= prefix.length - maxEdits)
            .map((t) => ({ ...t, d: boundedLevenshtein(t.term.slice(0, prefix.length), prefix, maxEdits) }))
            .filter((t) => t.d <= maxEdits);
    return ranked.sort(byDistanceThenUse).slice(0, limit).map(({ term, df }) => ({ term, df }));
  }

  #prefixRun(prefix: string): Term[] {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#sorted[mid]!.term < prefix) lo = mid + 1;
      else hi = mid;
    }
    const run: Term[] = [];
    for (let i = lo; i < this.#sorted.length && this.#sorted[i]!.term.startsWith(prefix); i++) run.push(this.#sorted[i]!);
    return run;
  }
}
