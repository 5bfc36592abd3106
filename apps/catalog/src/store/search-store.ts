/**
 * SQL of search: the vocabulary lookups behind typo correction and
 * autocomplete (levenshtein over search_terms, which holds the words of
 * names, brands and tags), and one statement that filters, ranks, pages and
 * counts facets over the weighted full-text document. The text indexes are
 * read through SECURITY DEFINER functions of the tenant (migrations/0007):
 * under row-level security PostgreSQL never uses a GIN index for `@@` or `%`
 * (neither is LEAKPROOF). pg_trgm and fuzzystrmatch are in `public`
 * (migrations/0001), named schema-qualified.
 */
import type { Queryable } from '@bulwark/db';

/**
 * The tenant as an explicit condition. Row-level security already limits every
 * statement to the tenant, but its policies are OR-ed (tenant, system, reporting),
 * so the planner gets no `tenant_id = …` index condition from them; this gives it
 * one (indexes lead with tenant_id, migrations/0006). Outside a tenant it is NULL:
 * no rows, as under RLS.
 */
const TENANT = `current_setting('bulwark.tenant', true)`;

export interface WordCandidates {
  word: string;
  known: boolean;
  /** Vocabulary words within the allowed edits, closest then most used first. */
  candidates: string[];
  /** Products using the word (known) or, else, its candidates together: an upper bound of its hits from names, brands and tags. */
  df: number;
}

/** For each word: whether the vocabulary has it, and its nearest vocabulary words (at most `maxEdits(word)` edits). */
export async function candidatesFor(db: Queryable, words: readonly string[], maxEdits: readonly number[]): Promise<WordCandidates[]> {
  if (words.length === 0) return [];
  const { rows } = await db.query<{ word: string; known_df: number | null; candidates: string[] | null; candidates_df: number | null }>({
    name: 'catalog.word_candidates',
    text: `SELECT w.word,
                  (SELECT t.df FROM search_terms t WHERE t.tenant_id = ${TENANT} AND t.term = w.word AND t.df > 0) AS known_df,
                  c.candidates, c.candidates_df
             FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS w(word, k, ord)
             LEFT JOIN LATERAL (
               SELECT array_agg(n.term ORDER BY n.d, n.df DESC, n.term) AS candidates, sum(n.df)::int AS candidates_df
                 FROM (SELECT t.term, t.df, public.levenshtein_less_equal(t.term, w.word, w.k) AS d FROM search_terms t
                        WHERE t.tenant_id = ${TENANT} AND t.df > 0 AND length(t.term) BETWEEN length(w.word) - w.k AND length(w.word) + w.k
                          AND public.levenshtein_less_equal(t.term, w.word, w.k) <= w.k
                        ORDER BY 3, t.df DESC, t.term LIMIT 3) n) c ON true
            ORDER BY w.ord`,
    values: [words, maxEdits],
  });
  return rows.map((r) => ({ word: r.word, known: r.known_df !== null, candidates: r.candidates ?? [], df: r.known_df ?? r.candidates_df ?? 0 }));
}

/** Vocabulary words that start with `prefix`, or whose first letters are within `maxEdits` of it when none does; most used first, with their product counts. */
export async function completionsFor(db: Queryable, prefix: string, maxEdits: number, limit: number): Promise<{ term: string; df: number }[]> {
  const { rows: ranked } = await db.query<{ term: string; df: number }>({
    name: 'catalog.completions_ranked',
    text: `WITH exact AS (SELECT term, df, 0 AS d FROM search_terms WHERE tenant_id = ${TENANT} AND df > 0 AND left(term, length($1)) = $1),
                near AS (SELECT term, df, public.levenshtein_less_equal(left(term, length($1)), $1, $2) AS d FROM search_terms
                          WHERE tenant_id = ${TENANT} AND df > 0 AND NOT EXISTS (SELECT 1 FROM exact) AND length(term) >= length($1) - $2
                            AND public.levenshtein_less_equal(left(term, length($1)), $1, $2) <= $2)
           SELECT term, df FROM (SELECT * FROM exact UNION ALL SELECT * FROM near) x ORDER BY d, df DESC, term LIMIT $3`,
    values: [prefix, maxEdits, limit],
  });
  return ranked;
}

export type SearchSort = 'relevance' | 'popularity' | 'price_asc' | 'price_desc' | 'newest';

export interface SearchFilters {
  category?: string;
  brand?: string;
  minPrice?: number;
  maxPrice?: number;
  currency?: string;
  /** Only rated products whose average rating is at least this (1–5). */
  minRating?: number;
  /** Only products inventory last reported available (products.in_stock, kept from inventory's events). */
  inStock?: boolean;
}

export interface SearchPage {
  total: number;
  ids: string[];
  facets: { categories: { value: string; count: number }[]; brands: { value: string; count: number }[]; price: { min: number | null; max: number | null } };
}

const ORDER: Record<SearchSort, string> = {
  relevance: 'score DESC, popularity DESC, id',
  popularity: 'popularity DESC, id',
  price_asc: 'price_min, id',
  price_desc: 'price_max DESC, id',
  newest: 'created_at DESC, id',
};

/**
 * Where hits come from. With words: `search_hits` (migrations/0007), the
 * tenant's matching rows through the GIN index, which row-level security
 * keeps from the runtime role's own statements. Without: the tenant's
 * products under RLS (browsing by filters).
 */
const HIT_SOURCES = {
  text: `SELECT h.id, h.name, h.brand, h.category_slug, h.price_min, h.price_max, h.popularity, h.created_at, h.rating_count, h.rating_sum, h.in_stock, h.text_rank
           FROM search_hits(to_tsquery('english', $1)) h`,
  all: `SELECT p.id, p.name, p.brand, p.category_slug, p.price_min, p.price_max, p.popularity, p.created_at, p.rating_count, p.rating_sum, p.in_stock, 0::real AS text_rank
          FROM products p WHERE p.tenant_id = ${TENANT} AND $1 = ''`,
} as const;

/**
 * The ranking: the weighted document's rank (A name, B brand and tags, D
 * description), the trigram similarity of the name to the corrected query,
 * popularity, and availability (a product out of stock drops below in-stock
 * matches of about the same text rank, not out of the results).
 */
const SCORE = `CASE WHEN $1 = '' THEN 0 ELSE h.text_rank + 0.3 * public.similarity(lower(h.name), $2) + 0.01 * ln(1 + h.popularity) + CASE WHEN h.in_stock THEN 0.05 ELSE 0 END END`;

/**
 * One round trip: the products matching `tsquery` (to_tsquery syntax built
 * from vocabulary words; '' matches everything) and the filters, ranked
 * (SCORE); the page, the total and facet counts over every hit.
 */
export async function searchProducts(db: Queryable, input: { tsquery: string; text: string; filters: SearchFilters; sort: SearchSort; limit: number; offset: number }): Promise<SearchPage> {
  const f = input.filters;
  const source = input.tsquery === '' ? 'all' : 'text';
  const { rows } = await db.query<{ total: string; ids: string[] | null; categories: SearchPage['facets']['categories'] | null; brands: SearchPage['facets']['brands'] | null; pmin: string | null; pmax: string | null }>({
    name: `catalog.search.${source}.${input.sort}`,
    text: `WITH hits AS MATERIALIZED (
                  SELECT h.id, h.brand, h.category_slug, h.price_min, h.price_max, h.popularity, h.created_at, ${SCORE} AS score
                    FROM (${HIT_SOURCES[source]}) h
                   WHERE ($3::text IS NULL OR h.category_slug IN (SELECT k.slug FROM categories k, categories c
                                                                   WHERE k.tenant_id = ${TENANT} AND c.tenant_id = ${TENANT} AND c.slug = $3 AND (k.path = c.path OR k.path LIKE c.path || '/%')))
                     AND ($4::text IS NULL OR h.brand = $4)
                     AND (($5::bigint IS NULL AND $6::bigint IS NULL AND $7::text IS NULL) OR EXISTS (
                           SELECT 1 FROM variants v WHERE v.tenant_id = ${TENANT} AND v.product_id = h.id AND ($5::bigint IS NULL OR v.price_minor >= $5) AND ($6::bigint IS NULL OR v.price_minor <= $6) AND ($7::text IS NULL OR v.currency = $7)))
                     AND ($10::numeric IS NULL OR (h.rating_count > 0 AND (h.rating_sum::numeric) / h.rating_count >= $10))
                     AND ($11::boolean IS NULL OR h.in_stock = $11)
                )
           SELECT (SELECT count(*) FROM hits) AS total,
                  ARRAY(SELECT id FROM hits ORDER BY ${ORDER[input.sort]} LIMIT $8 OFFSET $9) AS ids,
                  (SELECT json_agg(f) FROM (SELECT category_slug AS value, count(*)::int AS count FROM hits GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20) f) AS categories,
                  (SELECT json_agg(f) FROM (SELECT brand AS value, count(*)::int AS count FROM hits GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20) f) AS brands,
                  (SELECT min(price_min) FROM hits) AS pmin, (SELECT max(price_max) FROM hits) AS pmax`,
    values: [input.tsquery, input.text, f.category ?? null, f.brand ?? null, f.minPrice ?? null, f.maxPrice ?? null, f.currency ?? null, input.limit, input.offset, f.minRating ?? null, f.inStock === true ? true : null],
  });
  const r = rows[0]!;
  return {
    total: Number(r.total),
    ids: r.ids ?? [],
    facets: { categories: r.categories ?? [], brands: r.brands ?? [], price: { min: r.pmin === null ? null : Number(r.pmin), max: r.pmax === null ? null : Number(r.pmax) } },
  };
}

/** The product name closest to `text` by trigram similarity (the "did you mean" of a query with no hits; `closest_product_name`, migrations/0007). */
export async function closestName(db: Queryable, text: string): Promise<string | undefined> {
  const { rows } = await db.query<{ name: string | null }>({ name: 'catalog.closest_name', text: 'SELECT closest_product_name($1) AS name', values: [text] });
  return rows[0]?.name ?? undefined;
}

/**
 * How many of the most popular matching products autocomplete ranks
 * (`suggest_candidates`, migrations/0009 and 0010; `narrow`, the whole words
 * when they are rarer than the prefix, is what the GIN index is asked for).
 * With `estimatedHits` (an upper bound from the vocabulary's counts) the
 * function walks (tenant_id, popularity DESC) when hits are dense enough that
 * 50 of them come soon
 * (`black:*`: 12% of the catalog), and reads the GIN index otherwise: the
 * planner, blind to how hits correlate with popularity, walked 23,000 rows for
 * a rare prefix (250 ms of 200,000 products).
 */
const SUGGEST_CANDIDATES = 50;

/** The top products matching `tsquery`, for autocomplete (name, brand): the most popular hits, ranked by text, popularity and availability. */
export async function suggestProducts(db: Queryable, input: { tsquery: string; limit: number; estimatedHits: number; narrow?: string }): Promise<{ id: string; name: string; brand: string }[]> {
  const { rows } = await db.query<{ id: string; name: string; brand: string }>({
    name: 'catalog.suggest_products',
    text: `SELECT c.id, c.name, c.brand
             FROM suggest_candidates(to_tsquery('english', $1), ${SUGGEST_CANDIDATES}, $3, CASE WHEN $4::text IS NULL THEN NULL ELSE to_tsquery('english', $4) END) c
            ORDER BY c.text_rank + 0.01 * ln(1 + c.popularity) + CASE WHEN c.in_stock THEN 0.05 ELSE 0 END DESC, c.id LIMIT $2`,
    values: [input.tsquery, input.limit, input.estimatedHits, input.narrow ?? null],
  });
  return rows;
}
