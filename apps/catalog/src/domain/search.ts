/**
 * Search and autocomplete use cases. A query is cut into words (text.ts);
 * each word the tenant's vocabulary knows is used as is, any other is
 * replaced by its nearest vocabulary words (one edit for short words, two
 * otherwise); the words are ANDed into a full-text query ranked over the
 * weighted document. No hits: "did you mean" names the closest product name.
 * The vocabulary is searched in memory (vocabulary.ts): in the service it is
 * kept per tenant in the product cache (both tiers) and dropped on every
 * instance by the writes that change it (products.ts, the demo seed), with the
 * cache's freshness as the bound for anything else. A broad query (thousands
 * of matches, no filters) ranks only its most popular matches and says so
 * (`approximate`; store/search-store.ts, BROAD_QUERY_HITS).
 */
import type { Cache } from '@bulwark/cache';
import { currentDbContext, type Queryable } from '@bulwark/db';
import type { Product } from '../store/catalog-store.ts';
import { BROAD_CANDIDATES, BROAD_QUERY_HITS, closestName, loadVocabulary, searchProducts, suggestProducts, type SearchFilters, type SearchPage, type SearchSort } from '../store/search-store.ts';
import { correctedText, planSuggest, toTsQuery, type QueryWord } from './query.ts';
import { maxEditsFor, wordsOf } from './text.ts';
import { Vocabulary, type Term } from './vocabulary.ts';

/** Where search gets the tenant's vocabulary. */
export type VocabularySource = (db: Queryable) => Promise<Vocabulary>;

/** A fresh read per call (tools and tests without a cache). */
export const readVocabulary: VocabularySource = async (db) => new Vocabulary(await loadVocabulary(db));

/** The cache key of a tenant's vocabulary (the current tenant's by default). */
export function vocabularyKey(tenant?: string): string {
  const ctx = currentDbContext();
  return `vocabulary:${tenant ?? (ctx?.kind === 'tenant' ? ctx.tenant : '-')}`;
}

/**
 * The tenant's vocabulary through `cache`. The cache holds the terms (L2 keeps JSON); the sorted index built
 * from them is kept beside the very array L1 hands back, so an L1 hit costs no rebuild.
 */
export function cachedVocabulary(cache: Cache): VocabularySource {
  const built = new WeakMap<readonly Term[], Vocabulary>();
  return async (db) => {
    const terms = await cache.get<Term[]>(vocabularyKey(), () => loadVocabulary(db));
    let vocabulary = built.get(terms);
    if (!vocabulary) built.set(terms, (vocabulary = new Vocabulary(terms)));
    return vocabulary;
  };
}

/** Whether a query may take the broad path (store/search-store.ts, BROAD_QUERY_HITS): no filters, relevance or popularity order, enough products per word. */
function mayBeBroad(req: SearchRequest, sort: SearchSort, rarestWord: number, broadHits: number): boolean {
  const f = req.filters;
  const filtered = [f.category, f.brand, f.minPrice, f.maxPrice, f.currency, f.minRating].some((v) => v !== undefined) || f.inStock === true;
  return !filtered && (sort === 'relevance' || sort === 'popularity') && rarestWord >= broadHits;
}

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
  /** A broad query: total estimated (the rarest word's product count), page and facets from the most popular matches only. */
  approximate?: { candidates: number };
  items: Product[];
  facets: SearchPage['facets'];
}

function correctWords(vocabulary: Vocabulary, words: readonly string[]): (QueryWord & { df: number })[] {
  return vocabulary.candidates(words, words.map(maxEditsFor)).map((c) => ({ word: c.word, alternatives: c.known ? [c.word] : c.candidates, df: c.df }));
}

export interface SearchOptions {
  vocabulary?: VocabularySource;
  /** A query whose rarest word is in at least this many products may be broad (SEARCH_BROAD_HITS); default BROAD_QUERY_HITS. */
  broadHits?: number;
}

export async function searchCatalog(db: Queryable, req: SearchRequest, options: SearchOptions = {}): Promise<SearchResult> {
  const vocabularyOf = options.vocabulary ?? readVocabulary;
  const broadHits = options.broadHits ?? BROAD_QUERY_HITS;
  const text = req.q?.trim() ?? '';
  const words = wordsOf(text).slice(0, MAX_WORDS);
  const corrected = words.length === 0 ? [] : correctWords(await vocabularyOf(db), words);
  const tsquery = toTsQuery(corrected);
  const sort = req.sort ?? (words.length > 0 ? 'relevance' : 'popularity');
  const correctedQuery = correctedText(corrected);
  const dfs = corrected.map((w) => w.df);
  const request = { tsquery, text: correctedQuery, filters: req.filters, sort, limit: req.limit, offset: req.offset };
  let broad = words.length > 0 && mayBeBroad(req, sort, Math.min(...dfs), broadHits);
  let page = await searchProducts(db, { ...request, ...(broad ? { broadHits } : {}) });
  if (broad && page.total < BROAD_CANDIDATES) {
    broad = false; // fewer matches than the counts allowed: search it whole
    page = await searchProducts(db, request);
  }
  // Broad: the rarest word's count (names, brands and tags) stands for the total.
  const result: SearchResult = { query: text, total: broad ? Math.max(Math.min(...dfs), page.total) : page.total, items: page.products, facets: page.facets };
  if (broad) result.approximate = { candidates: BROAD_CANDIDATES };
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

export async function suggest(db: Queryable, q: string, limit: number, vocabularyOf: VocabularySource = readVocabulary): Promise<Suggestions> {
  const words = wordsOf(q).slice(0, MAX_WORDS);
  const last = words.at(-1);
  if (last === undefined) return { query: q, completions: [], products: [] };
  const vocabulary = await vocabularyOf(db);
  const head = correctWords(vocabulary, words.slice(0, -1));
  const completions = vocabulary.completions(last, last.length <= 3 ? (last.length <= 2 ? 0 : 1) : 2, 5);
  const products = await suggestProducts(db, { ...planSuggest(head, last, completions), limit });
  return { query: q, completions: completions.map((c) => c.term), products };
}
