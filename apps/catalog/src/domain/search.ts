/**
 * Search and autocomplete use cases. A query is cut into words (text.ts);
 * each word the tenant's vocabulary knows is used as is, any other is
 * replaced by its nearest vocabulary words (one edit for short words, two
 * otherwise); the words are ANDed into a full-text query ranked over the
 * weighted document. No hits: "did you mean" names the closest product name.
 */
import type { Queryable } from '@bulwark/db';
import { findProducts, type Product } from '../store/catalog-store.ts';
import { candidatesFor, closestName, completionsFor, searchProducts, suggestProducts, type SearchFilters, type SearchPage, type SearchSort } from '../store/search-store.ts';
import { correctedText, planSuggest, toTsQuery, type QueryWord } from './query.ts';
import { maxEditsFor, wordsOf } from './text.ts';

/** Query words beyond this are ignored (a search box, not a document). */
const MAX_WORDS = 8;

export interface SearchRequest {
  q?: string;
  filters: SearchFilters;
  sort?: SearchSort;
  limit: number;
  offset: number;
}

export interface SearchResult {
  query: string;
  /** The query after typo correction, when it changed a word. */
  correctedQuery?: string;
  /** On no hits: a product name close to the query. */
  didYouMean?: string;
  total: number;
  items: Product[];
  facets: SearchPage['facets'];
}

async function correctWords(db: Queryable, words: readonly string[]): Promise<(QueryWord & { df: number })[]> {
  const found = await candidatesFor(db, words, words.map(maxEditsFor));
  return found.map((c) => ({ word: c.word, alternatives: c.known ? [c.word] : c.candidates, df: c.df }));
}

export async function searchCatalog(db: Queryable, req: SearchRequest): Promise<SearchResult> {
  const text = req.q?.trim() ?? '';
  const words = wordsOf(text).slice(0, MAX_WORDS);
  const corrected = await correctWords(db, words);
  const tsquery = toTsQuery(corrected);
  const sort = req.sort ?? (words.length > 0 ? 'relevance' : 'popularity');
  const correctedQuery = correctedText(corrected);
  const page = await searchProducts(db, { tsquery, text: correctedQuery, filters: req.filters, sort, limit: req.limit, offset: req.offset });
  const result: SearchResult = { query: text, total: page.total, items: await findProducts(db, page.ids), facets: page.facets };
  if (words.length > 0 && correctedQuery !== words.join(' ')) result.correctedQuery = correctedQuery;
  if (page.total === 0 && words.length > 0) {
    const near = await closestName(db, correctedQuery);
    if (near !== undefined) result.didYouMean = near;
  }
  return result;
}

export interface Suggestions {
  query: string;
  /** Vocabulary words completing the last word (typo-tolerant when nothing starts with it). */
  completions: string[];
  products: { id: string; name: string; brand: string }[];
}

export async function suggest(db: Queryable, q: string, limit: number): Promise<Suggestions> {
  const words = wordsOf(q).slice(0, MAX_WORDS);
  const last = words.at(-1);
  if (last === undefined) return { query: q, completions: [], products: [] };
  const head = await correctWords(db, words.slice(0, -1));
  const completions = await completionsFor(db, last, last.length <= 3 ? (last.length <= 2 ? 0 : 1) : 2, 5);
  const products = await suggestProducts(db, { ...planSuggest(head, last, completions), limit });
  return { query: q, completions: completions.map((c) => c.term), products };
}
