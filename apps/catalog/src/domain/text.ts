/**
 * The words search works on: lower case, diacritics folded, split on anything
 * that is not a letter or digit. The same function cuts product text into the
 * vocabulary (search_terms) and queries into the words corrected against it,
 * so both sides agree on what a word is.
 */

/** Words of `text` in order (duplicates kept), each 1–40 characters of [a-z0-9]. */
export function wordsOf(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0 && w.length <= 40);
}

/** The vocabulary a product contributes: distinct words of its name, brand and tags, two characters or more. */
export function termsOf(product: { name: string; brand: string; tags: readonly string[] }): string[] {
  return [...new Set(wordsOf([product.name, product.brand, ...product.tags].join(' ')).filter((w) => w.length >= 2))].sort();
}

/** The most edits a word of this length may be away from the term it is corrected to. */
export function maxEditsFor(word: string): number {
  // "g" of "g shock" is one edit from every two-letter word: too short to guess at.
  if (word.length <= 2) return 0;
  if (word.length <= 3) return 1;
  return 2;
}
