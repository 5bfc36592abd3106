/**
 * The bench's bulk load (bench/lib/catalog-bulk-load.ts: COPY, indexes built
 * after) writes the same catalog as the service's seed: the same products,
 * search documents, variants and vocabulary counts, so figures measured on a
 * bulk-loaded 1,000,000 describe what the service would hold.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pgUrl, TEST_TENANT } from '@bulwark/test-support';
import { bulkLoadDemoCatalog } from '../../../bench/lib/catalog-bulk-load.ts';
import { call, setupCatalog, type TestCatalog } from './support.ts';

const COUNT = 400;
let seeded: TestCatalog;
let loaded: TestCatalog;
let loadedUrl: string;

beforeAll(async () => {
  seeded = await setupCatalog();
  loaded = await setupCatalog();
  await seeded.start({ CATALOG_SEED_TENANT: TEST_TENANT, CATALOG_SEED_COUNT: String(COUNT) });
  ({ url: loadedUrl } = await loaded.start());
  await bulkLoadDemoCatalog({ ownerUrl: pgUrl(), schema: loaded.schema, tenant: TEST_TENANT, count: COUNT });
});

afterAll(async () => {
  await seeded?.cleanup();
  await loaded?.cleanup();
});

const snapshot = async (t: TestCatalog) => ({
  products: (await t.db.query('SELECT slug, name, brand, description, category_slug, tags, images, popularity, price_min, price_max, search::text AS search FROM products ORDER BY slug')).rows,
  variants: (await t.db.query('SELECT v.sku, p.slug, v.attributes, v.price_minor, v.currency, v.position FROM variants v JOIN products p ON p.id = v.product_id ORDER BY v.sku')).rows,
  terms: (await t.db.query('SELECT term, df FROM search_terms ORDER BY term')).rows,
  indexes: (await t.db.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('products', 'variants') ORDER BY 1")).rows,
});

describe('bulk load of the demo catalog', () => {
  it('when the bench loads the demo catalog with COPY, then products, search documents, variants, vocabulary and indexes equal the seed\'s', async () => {
    const a = await snapshot(seeded);
    const b = await snapshot(loaded);
    expect(b.products.length).toBe(COUNT);
    expect(b.products).toEqual(a.products);
    expect(b.variants).toEqual(a.variants);
    expect(b.terms).toEqual(a.terms);
    expect(b.indexes).toEqual(a.indexes);
    const hit = await call(loadedUrl, 'GET', '/v1/products/search?q=bialeti');
    expect(hit.status).toBe(200);
    expect(hit.body.total).toBeGreaterThan(0);
  });
});
