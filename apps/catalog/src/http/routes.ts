/**
 * Thin routes: validated input, the admin check on writes, one use case, the
 * answer. GET /v1/products/:id carries a strong ETag over the bytes sent and
 * answers a matching If-None-Match with 304 (@bulwark/cache's HTTP helpers).
 */
import { cacheControlValue, ifNoneMatchHits, strongEtag } from '@bulwark/cache';
import { currentDbContext } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { categoryTree, createProduct, deleteCategory, deleteProduct, getProduct, putCategory, replaceProduct, type CatalogDeps } from '../domain/products.ts';
import { cachedVocabulary, searchCatalog, suggest } from '../domain/search.ts';
import { catalogError } from '../errors.ts';
import type { CatalogMetrics } from '../metrics.ts';
import { ADMIN_HEADERS, requireAdmin } from './admin.ts';
import { CategoryBody, CategoryResponse, CategoryTreeResponse, DemoCatalogResponse, ProductBody, ProductIdParams, ProductResponse, SearchQuery, SearchResponse, SlugParams, SuggestQuery, SuggestResponse } from './schemas.ts';

export interface RouteDeps extends CatalogDeps {
  metrics: CatalogMetrics;
  productMaxAgeSeconds: number;
  /** SEARCH_BROAD_HITS: where a search becomes broad (domain/search.ts). */
  searchBroadHits: number;
  /** Starts loading the demo catalog into a tenant (in the background, once at a time); the route exists when given. */
  seedDemo?: (tenant: string) => { products: number; started: boolean };
}

export function registerRoutes(r: RouteRegistrar, deps: RouteDeps): void {
  const admin = { headers: ADMIN_HEADERS, middleware: [requireAdmin] };
  const adminErrors = (...codes: string[]) => ['CATALOG_ADMIN_ONLY', ...codes];
  const wrote = (entity: 'product' | 'category', op: 'create' | 'update' | 'delete') => deps.metrics.writes.inc({ entity, op });
  const vocabulary = cachedVocabulary(deps.products);

  r.get('/v1/categories', {
    summary: "The tenant's category tree",
    responses: { 200: CategoryTreeResponse },
    handler: async () => ({ status: 200, body: { categories: await categoryTree(deps) } }),
  });
  r.put('/v1/categories/:slug', {
    summary: 'Create, rename or move a category (admin); a move carries its subtree',
    errors: adminErrors('CATALOG_UNKNOWN_CATEGORY', 'CATALOG_CATEGORY_CYCLE'),
    params: SlugParams,
    body: CategoryBody,
    ...admin,
    responses: { 200: CategoryResponse, 201: CategoryResponse },
    handler: async ({ params, body }) => {
      const { category, created } = await putCategory(deps, { slug: params.slug, name: body.name, parent: body.parent });
      wrote('category', created ? 'create' : 'update');
      return created ? { status: 201, body: category } : { status: 200, body: category };
    },
  });
  r.delete('/v1/categories/:slug', {
    summary: 'Delete a category without subcategories or products (admin)',
    errors: adminErrors('CATALOG_CATEGORY_NOT_FOUND', 'CATALOG_CATEGORY_IN_USE'),
    params: SlugParams,
    ...admin,
    responses: { 204: null },
    handler: async ({ params }) => {
      await deleteCategory(deps, params.slug);
      wrote('category', 'delete');
      return { status: 204 };
    },
  });

  // Literal paths before /v1/products/:id.
  const { seedDemo } = deps;
  if (seedDemo) {
    r.post('/v1/products/demo-catalog', {
      summary: "Load the demo catalog into the caller's tenant (admin; `npm run up` only): 202 at once, the products appear over the next seconds; existing slugs are kept",
      errors: adminErrors(),
      ...admin,
      responses: { 202: DemoCatalogResponse },
      handler: async () => {
        const context = currentDbContext();
        if (context?.kind !== 'tenant') throw catalogError('CATALOG_ADMIN_ONLY', 'the demo catalog is loaded into the caller\'s tenant');
        return { status: 202, body: { tenant: context.tenant, ...seedDemo(context.tenant) } };
      },
    });
  }
  r.get('/v1/products/search', {
    summary: 'Full-text search with typo correction, filters (category subtree, brand, price), facet counts, sorting and did-you-mean',
    query: SearchQuery,
    responses: { 200: SearchResponse },
    handler: async ({ query }) => {
      const { q, sort, limit, offset, ...filters } = query;
      const result = await searchCatalog(deps.pool, { q, sort, limit, offset, filters }, { vocabulary, broadHits: deps.searchBroadHits });
      deps.metrics.searches.inc({ kind: 'search', outcome: result.total === 0 ? 'empty' : result.correctedQuery ? 'corrected' : 'hits' });
      return { status: 200, body: result };
    },
  });
  r.get('/v1/products/suggest', {
    summary: 'Autocomplete: completions of the last word (typo-tolerant) and the products they lead to',
    query: SuggestQuery,
    responses: { 200: SuggestResponse },
    handler: async ({ query }) => {
      const result = await suggest(deps.pool, query.q, query.limit, vocabulary);
      deps.metrics.searches.inc({ kind: 'suggest', outcome: result.products.length === 0 ? 'empty' : 'hits' });
      return { status: 200, body: result };
    },
  });
  r.post('/v1/products', {
    summary: 'Create a product with its variants (admin)',
    errors: adminErrors('CATALOG_UNKNOWN_CATEGORY', 'CATALOG_SLUG_TAKEN', 'CATALOG_SKU_TAKEN'),
    body: ProductBody,
    ...admin,
    responses: { 201: ProductResponse },
    handler: async ({ body }) => {
      const product = await createProduct(deps, body);
      wrote('product', 'create');
      return { status: 201, body: product, headers: { location: `/v1/products/${product.id}` } };
    },
  });
  r.get('/v1/products/:id', {
    summary: 'One product with its variants; strong ETag, 304 on If-None-Match, Cache-Control',
    errors: ['CATALOG_PRODUCT_NOT_FOUND'],
    params: ProductIdParams,
    headers: [{ name: 'If-None-Match', description: 'An ETag from an earlier answer: 304 when the product is unchanged.' }],
    responses: { 200: ProductResponse, 304: null },
    handler: async ({ params, req }) => {
      const product = await getProduct(deps, params.id);
      const etag = strongEtag(JSON.stringify(product));
      const headers = { etag, 'cache-control': cacheControlValue({ maxAgeSeconds: deps.productMaxAgeSeconds, scope: 'private' }) };
      if (ifNoneMatchHits(req.get('if-none-match'), etag)) return { status: 304, headers };
      return { status: 200, body: product, headers };
    },
  });
  r.put('/v1/products/:id', {
    summary: 'Replace a product and its variants (admin)',
    errors: adminErrors('CATALOG_PRODUCT_NOT_FOUND', 'CATALOG_UNKNOWN_CATEGORY', 'CATALOG_SLUG_TAKEN', 'CATALOG_SKU_TAKEN'),
    params: ProductIdParams,
    body: ProductBody,
    ...admin,
    responses: { 200: ProductResponse },
    handler: async ({ params, body }) => {
      const product = await replaceProduct(deps, params.id, body);
      wrote('product', 'update');
      return { status: 200, body: product };
    },
  });
  r.delete('/v1/products/:id', {
    summary: 'Delete a product and its variants (admin)',
    errors: adminErrors('CATALOG_PRODUCT_NOT_FOUND'),
    params: ProductIdParams,
    ...admin,
    responses: { 204: null },
    handler: async ({ params }) => {
      await deleteProduct(deps, params.id);
      wrote('product', 'delete');
      return { status: 204 };
    },
  });
}
