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
