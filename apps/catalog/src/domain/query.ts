/**
 * Turns corrected query words into to_tsquery text: every word must match
 * (AND), each through any of its alternatives (OR); the last word of an
 * autocomplete is a prefix. Words are [a-z0-9]+ (text.ts), so the text needs
 * no quoting.
 */

export interface QueryWord {
  word: string;
  /** The word itself when the vocabulary knows it, else its corrections; empty: the word as typed. */
  alternatives: readonly string[];
}

export function toTsQuery(words: readonly QueryWord[], options: { prefixLast?: boolean } = {}): string {
  return words
    .map((w, i) => {
      const prefix = options.prefixLast === true && i === words.length - 1 ? ':*' : '';
      const alts = w.alternatives.length > 0 ? w.alternatives : [w.word];
      const terms = [...new Set(alts)].map((a) => `${a}${prefix}`);
      return terms.length === 1 ? terms[0]! : `(${terms.join(' | ')})`;
    })
    .join(' & ');
}

/** The query as the user would read it after correction (first alternative of each word). */
export function correctedText(words: readonly QueryWord[]): string {
  return words.map((w) => w.alternatives[0] ?? w.word).join(' ');
}

/** What autocomplete asks the index for: the full query, an upper bound of its hits, and the whole words alone when they are rarer. */
export interface SuggestPlan {
  tsquery: string;
  /** Every word must match: at most the rarest whole word's products, or the last word's completions together. */
  estimatedHits: number;
  /** The whole words' query, when they have fewer products than the prefix's completions (a prefix makes the index read every word it starts). */
  narrow?: string;
}

/** `head` the corrected whole words with their product counts, `completions` the last word's with theirs. */
export function planSuggest(head: readonly (QueryWord & { df: number })[], last: string, completions: readonly { term: string; df: number }[]): SuggestPlan {
  const lastWord: QueryWord = { word: last, alternatives: completions.length > 0 ? completions.map((c) => c.term) : [last] };
  const prefixHits = completions.reduce((n, c) => n + c.df, 0);
  const headHits = Math.min(...head.map((w) => w.df));
  return {
    tsquery: toTsQuery([...head, lastWord], { prefixLast: true }),
    estimatedHits: Math.min(prefixHits, headHits),
    ...(head.length > 0 && headHits < prefixHits ? { narrow: toTsQuery(head) } : {}),
  };
}
