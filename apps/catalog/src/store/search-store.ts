/**
 * SQL of search: the vocabulary behind typo correction and autocomplete
 * (search_terms, the words of names, brands and tags, read whole and searched
 * in memory: domain/vocabulary.ts), and one statement that filters, ranks, pages and
 * counts facets over the weighted full-text document. The text indexes are
 * read through SECURITY DEFINER functions of the tenant (migrations/0007):
 * under row-level security PostgreSQL never uses a GIN index for `@@` or `%`
 * (neither is LEAKPROOF). pg_trgm and fuzzystrmatch are in `public`
 * (migrations/0001), named schema-qualified.
 */
import type { Queryable } from '@bulwark/db';
import { PRODUCT_JSON, productFromJson, type Product } from './catalog-store.ts';
import type { Term } from '../domain/vocabulary.ts';

/**
 * The tenant as an explicit condition. Row-level security already limits every
 * statement to the tenant, but its policies are OR-ed (tenant, system, reporting),
 * so the planner gets no `tenant_id = …` index condition from them; this gives it
 * one (indexes lead with tenant_id, migrations/0006). Outside a tenant it is NULL:
 * no rows, as under RLS.
 */
const TENANT = `current_setting('bulwark.tenant', true)`;

/** The tenant's vocabulary (the words of names, brands and tags in use, with their product counts), for domain/vocabulary.ts. */
export async function loadVocabulary(db: Queryable): Promise<Term[]> {
  const { rows } = await db.query<Term>({ name: 'catalog.vocabulary', text: `SELECT term, df FROM search_terms WHERE tenant_id = ${TENANT} AND df > 0`, values: [] });
  return rows;
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
  /** The page, in order. */
  products: Product[];
  facets: { categories: { value: string; count: number }[]; brands: { value: string; count: number }[]; price: { min: number | null; max: number | null } };
}

const ORDER: Record<SearchSort, string> = {
  relevance: 'score DESC, popularity DESC, id',
  popularity: 'popularity DESC, id',
  price_asc: 'price_min, id',
  price_desc: 'price_max DESC, id',
  newest: 'created_at DESC, id',
};

/** How many candidates a broad query ranks (`search_popular_hits`, migrations/0012). */
export const BROAD_CANDIDATES = 200;

/**
 * A query whose words could match at least this many products by name, brand or tags (the rarest word's
 * count) may be broad: without filters and sorted by relevance or popularity it ranks the BROAD_CANDIDATES
 * most popular of them, found among the most popular BROAD_CANDIDATES × products / BROAD_QUERY_HITS, and its
 * total and facets are estimates. When that finds fewer, the query is searched whole. At 1,000,000 products
 * ranking every hit of `black` took 8.7 s.
 */
export const BROAD_QUERY_HITS = 5_000;

/**
 * Where hits come from. With words: `search_hits` (migrations/0007), the
 * tenant's matching rows through the GIN index, which row-level security
 * keeps from the runtime role's own statements; for a broad query (the
 * caller decides: `broadHits`), `search_popular_hits` (0012), the
 * BROAD_CANDIDATES most popular products matching by name, brand or tags.
 * Without words: the tenant's products under RLS (browsing by filters).
 */
const HIT_SOURCES = {
  popular: `SELECT h.id, h.name, h.brand, h.category_slug, h.price_min, h.price_max, h.popularity, h.created_at, h.rating_count, h.rating_sum, h.in_stock, h.text_rank
           FROM search_popular_hits(to_tsquery('english', $1), ${BROAD_CANDIDATES}, $12::int) h`,
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
 * (SCORE); the page's products, the total and facet counts over every hit
 * (with `broadHits`, over the capped candidates).
 */
export async function searchProducts(db: Queryable, input: { tsquery: string; text: string; filters: SearchFilters; sort: SearchSort; limit: number; offset: number; broadHits?: number }): Promise<SearchPage> {
  const f = input.filters;
  const source = input.tsquery === '' ? 'all' : input.broadHits !== undefined ? 'popular' : 'text';
  const { rows } = await db.query<{ total: string; products: Parameters<typeof productFromJson>[0][] | null; categories: SearchPage['facets']['categories'] | null; brands: SearchPage['facets']['brands'] | null; pmin: string | null; pmax: string | null }>({
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
                ),
                page AS MATERIALIZED (SELECT o.id, o.ord FROM unnest(ARRAY(SELECT id FROM hits ORDER BY ${ORDER[input.sort]} LIMIT $8 OFFSET $9)) WITH ORDINALITY AS o(id, ord))
           SELECT (SELECT count(*) FROM hits) AS total,
                  (SELECT json_agg(${PRODUCT_JSON} ORDER BY page.ord)
                     FROM page JOIN products p ON p.tenant_id = ${TENANT} AND p.id = page.id
                     JOIN categories c ON c.tenant_id = p.tenant_id AND c.slug = p.category_slug) AS products,
                  (SELECT json_agg(f) FROM (SELECT category_slug AS value, count(*)::int AS count FROM hits GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20) f) AS categories,
                  (SELECT json_agg(f) FROM (SELECT brand AS value, count(*)::int AS count FROM hits GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20) f) AS brands,
                  (SELECT min(price_min) FROM hits) AS pmin, (SELECT max(price_max) FROM hits) AS pmax`,
    values: [input.tsquery, input.text, f.category ?? null, f.brand ?? null, f.minPrice ?? null, f.maxPrice ?? null, f.currency ?? null, input.limit, input.offset, f.minRating ?? null, f.inStock === true ? true : null, ...(source === 'popular' ? [input.broadHits] : [])],
  });
  const r = rows[0]!;
  return {
    total: Number(r.total),
    products: (r.products ?? []).map(productFromJson),
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
 * (`suggest_candidates`, migrations/0011, over the narrow product_suggest
 * table; `narrow`, the whole words when they are rarer than the prefix, is
 * what the GIN index is asked for, 0010). With `estimatedHits` (an upper
 * bound from the vocabulary's counts) the function walks the index of
 * (tenant_id, popularity DESC) that carries each product's document, an
 * index-only scan, when hits are dense enough that 50 of them come within a
 * few pages, and reads the GIN index otherwise.
 */
const SUGGEST_CANDIDATES = 50;

/** The top products matching `tsquery`, for autocomplete (name, brand): the most popular hits, ranked by text, popularity and availability. */
export async function suggestProducts(db: Queryable, input: { tsquery: string; limit: number; estimatedHits: number; narrow?: string }): Promise<{ id: string; name: string; brand: string }[]> {
  const { rows } = await db.query<{ id: string; name: string; brand: string }>({
    name: 'catalog.suggest_products',
    text: `SELECT p.id, p.name, p.brand
             FROM (SELECT c.id, c.text_rank + 0.01 * ln(1 + c.popularity) + CASE WHEN c.in_stock THEN 0.05 ELSE 0 END AS score
                     FROM suggest_candidates(to_tsquery('english', $1), ${SUGGEST_CANDIDATES}, $3, CASE WHEN $4::text IS NULL THEN NULL ELSE to_tsquery('english', $4) END) c
                    ORDER BY score DESC, c.id LIMIT $2) r
             JOIN products p ON p.tenant_id = ${TENANT} AND p.id = r.id
            ORDER BY r.score DESC, r.id`,
    values: [input.tsquery, input.limit, input.estimatedHits, input.narrow ?? null],
  });
  return rows;
}
