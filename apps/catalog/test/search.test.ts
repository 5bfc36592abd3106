/**
 * Search over the demo catalog (a few thousand products, seeded by the
 * service at start as `npm run up` does) against real PostgreSQL: the
 * relevance set (test/relevance/*.json) with precision@5 and the typo-tolerance
 * rate printed and held to a floor, filters, facets, sorting, did-you-mean,
 * autocomplete, and a second start that seeds nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import { OTHER_TENANT, tenantCall, TEST_TENANT } from '@bulwark/test-support';
import { ADMIN, call, productBody, setupCatalog, type TestCatalog } from './support.ts';

interface RelevanceCase {
  q: string;
  kind: 'exact' | 'typo1' | 'typo2';
  expect: string[];
}

const SEED_COUNT = 3_000;
const cases: RelevanceCase[] = fs
  .readdirSync(new URL('./relevance/', import.meta.url))
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => (JSON.parse(fs.readFileSync(new URL(`./relevance/${f}`, import.meta.url), 'utf8')) as { queries: RelevanceCase[] }).queries);

interface Hit {
  id: string;
  slug: string;
  name: string;
  brand: string;
  category: string;
  variants: { price: { amount: number } }[];
}

describe('catalog search over the demo catalog', () => {
  let env: TestCatalog;
  let url: string;
  const search = async (query: string) => {
    const res = await call(url, 'GET', `/v1/products/search?${query}`);
    expect(res.status).toBe(200);
    return res.body as { total: number; items: Hit[]; correctedQuery?: string; didYouMean?: string; facets: { categories: { value: string; count: number }[]; brands: { value: string; count: number }[] } };
  };

  beforeAll(async () => {
    env = await setupCatalog();
    ({ url } = await env.start({ CATALOG_SEED_TENANT: TEST_TENANT, CATALOG_SEED_COUNT: String(SEED_COUNT) }));
  }, 120_000);
  afterAll(() => env.cleanup());

  it('when the relevance set is run, then precision@5 and the typo-tolerance rate reach their floors', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
    let precision = 0;
    let typos = 0;
    let typoHits = 0;
    const misses: string[] = [];
    for (const c of cases) {
      const top = (await search(`q=${encodeURIComponent(c.q)}&limit=5`)).items.map((i) => i.slug);
      const found = c.expect.filter((s) => top.includes(s)).length;
      precision += found / Math.min(5, c.expect.length);
      if (c.kind !== 'exact') {
        typos += 1;
        if (found > 0) typoHits += 1;
      }
      if (found < c.expect.length) misses.push(`${c.kind} "${c.q}": want ${c.expect.join(',')}, top 5 ${top.join(',')}`);
    }
    const p5 = precision / cases.length;
    const tolerance = typoHits / typos;
    console.log(`relevance over ${SEED_COUNT} products, ${cases.length} queries (${typos} with typos): precision@5 ${p5.toFixed(3)}, typo tolerance ${tolerance.toFixed(3)}${misses.length ? `\nmisses:\n  ${misses.join('\n  ')}` : ''}`);
    // Measured 2026-12-07: precision@5 1.000 and typo tolerance 1.000 (35 of 35); the floors allow one miss each.
    expect(p5).toBeGreaterThanOrEqual(0.98);
    expect(tolerance).toBeGreaterThanOrEqual(0.97); // the issue's seed figure is 0.95
  });

  it('when a query has a typo, then the answer says the corrected query', async () => {
    const r = await search('q=bialeti+moka');
    expect(r.correctedQuery).toBe('bialetti moka');
    expect(r.items[0]!.slug).toBe('bialetti-moka-express');
  });

  it('when a category is given, then only its subtree matches and the category facet counts only it', async () => {
    const r = await search('category=kitchen&limit=100');
    expect(r.total).toBeGreaterThan(100);
    const kitchen = new Set(['coffee', 'cookware', 'kitchen-knives', 'small-appliances', 'drinkware']);
    expect(r.items.every((i) => kitchen.has(i.category))).toBe(true);
    expect(r.facets.categories.every((f) => kitchen.has(f.value))).toBe(true);
    expect(r.facets.categories.reduce((n, f) => n + f.count, 0)).toBe(r.total);
  });

  it('when a price range and price sort are given, then every hit has a variant in range, in ascending price order', async () => {
    const r = await search('q=knife&minPrice=3000&maxPrice=12000&sort=price_asc&limit=50');
    expect(r.total).toBeGreaterThan(0);
    for (const i of r.items) expect(i.variants.some((v) => v.price.amount >= 3000 && v.price.amount <= 12000)).toBe(true);
    const mins = r.items.map((i) => Math.min(...i.variants.map((v) => v.price.amount)));
    expect(mins).toEqual([...mins].sort((a, b) => a - b));
  });

  it('when a brand filter is given, then the brand facet has that brand only and matches the total', async () => {
    const r = await search('q=jacket&brand=Patagonia');
    expect(r.items.map((i) => i.slug)).toEqual(['patagonia-nano-puff']);
    expect(r.facets.brands).toEqual([{ value: 'Patagonia', count: 1 }]);
  });

  it('when nothing matches, then total is 0 and did-you-mean names a close product', async () => {
    const r = await search(`q=${encodeURIComponent('millenium falcon xwing')}`);
    expect(r.total).toBe(0);
    expect(r.didYouMean).toBe('Lego Star Wars Millennium Falcon');
  });

  it('when a minimum rating is given, then only reviewed products at or above that average match, each showing its rating', async () => {
    // Reviews need a shipped order (reviews.test.ts); here the summary columns they keep are set directly.
    const { rows } = await env.db.query<{ id: string }>(`SELECT id FROM products WHERE search @@ to_tsquery('english', 'espresso') ORDER BY id LIMIT 3`);
    const [high, mid, low] = rows.map((r) => r.id) as [string, string, string];
    await env.db.query(`UPDATE products SET rating_count = v.n, rating_sum = v.s FROM (VALUES ($1::uuid, 2, 9), ($2::uuid, 3, 11), ($3::uuid, 4, 10)) v(id, n, s) WHERE products.id = v.id`, [high, mid, low]);
    const r = await search('q=espresso&minRating=3.6&limit=100');
    expect(r.items.map((i) => i.id).sort()).toEqual([high, mid].sort());
    expect(r.total).toBe(2);
    const rated = r.items as unknown as { id: string; rating: { average: number | null; count: number } }[];
    expect(rated.find((i) => i.id === high)!.rating).toEqual({ average: 4.5, count: 2 });
    expect(rated.find((i) => i.id === mid)!.rating).toEqual({ average: 3.67, count: 3 });
    expect((await search('q=espresso&minRating=2.5&limit=100')).total).toBe(3);
    expect((await search('q=espresso&limit=100')).items.find((i) => i.id !== high && i.id !== mid && i.id !== low)).toMatchObject({ rating: { average: null, count: 0 } });
    expect((await call(url, 'GET', `/v1/products/${low}`)).body.rating).toEqual({ average: 2.5, count: 4 });
    const bad = await call(url, 'GET', '/v1/products/search?minRating=6');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('when a prefix is typed, with or without a typo, then autocomplete completes it and leads to the product', async () => {
    const exact = await call(url, 'GET', '/v1/products/suggest?q=kitchena');
    expect(exact.body.completions).toContain('kitchenaid');
    expect(exact.body.products.map((p: { name: string }) => p.name)).toContain('KitchenAid Artisan Stand Mixer');
    const typo = await call(url, 'GET', '/v1/products/suggest?q=sony+headphnes');
    expect(typo.body.products[0].name).toBe('Sony WH-1000XM5 Wireless Noise Cancelling Headphones');
    const typoPrefix = await call(url, 'GET', '/v1/products/suggest?q=paperwh');
    expect(typoPrefix.body.completions).toEqual(['paperwhite']);
    const fuzzy = await call(url, 'GET', '/v1/products/suggest?q=papirwh');
    expect(fuzzy.body.completions).toContain('paperwhite');
  });

  it('when the service starts again on a seeded schema, then the seed writes nothing and the catalog keeps its size', async () => {
    const before = (await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM products')).rows[0]!.n;
    expect(before).toBe(SEED_COUNT);
    await env.start({ CATALOG_SEED_TENANT: TEST_TENANT, CATALOG_SEED_COUNT: String(SEED_COUNT) });
    expect((await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM products')).rows[0]!.n).toBe(SEED_COUNT);
  });

  it("when another tenant has products with the same words, then search, facets, autocomplete and did-you-mean never show them", async () => {
    // The text indexes are read through SECURITY DEFINER functions that name the tenant themselves (migrations/0007): this is their isolation.
    const other = tenantCall(OTHER_TENANT);
    expect((await other(url, 'PUT', '/v1/categories/espresso-gear', { name: 'Espresso gear' }, ADMIN)).status).toBe(201);
    for (const [slug, name, brand] of [['zanzibar-espresso', 'Zanzibar Espresso Grinder', 'Bialetti'], ['bialetti-moka-express', 'Bialetti Moka Express Deluxe', 'Quixotica']]) {
      expect((await other(url, 'POST', '/v1/products', productBody({ slug, name, brand, category: 'espresso-gear', tags: ['zanzibar'] }), ADMIN)).status).toBe(201);
    }
    const theirs = new Set((await env.db.query<{ id: string }>('SELECT id FROM products WHERE tenant_id = $1', [OTHER_TENANT])).rows.map((r) => r.id));
    expect(theirs.size).toBe(2);

    const rare = await search('q=zanzibar');
    expect(rare.total).toBe(0);
    expect(rare.items).toEqual([]);
    expect(rare.didYouMean).toBeUndefined();
    const shared = await search('q=bialetti+espresso&limit=100');
    expect(shared.items.some((i) => theirs.has(i.id))).toBe(false);
    expect(shared.facets.brands.map((b) => b.value)).not.toContain('Quixotica');
    expect(shared.facets.categories.map((c) => c.value)).not.toContain('espresso-gear');
    expect((await search('q=bialetti+moka')).items.filter((i) => i.slug === 'bialetti-moka-express').map((i) => i.id).some((id) => theirs.has(id))).toBe(false);
    const completions = await call(url, 'GET', '/v1/products/suggest?q=zanzib');
    expect(completions.body.products).toEqual([]);
    expect(completions.body.completions).toEqual([]);
    const typed = await call(url, 'GET', '/v1/products/suggest?q=bialetti+moka');
    expect(typed.body.products.some((p: { id: string }) => theirs.has(p.id))).toBe(false);
    const near = await search(`q=${encodeURIComponent('zanzibar espreso grindr xyz')}`);
    expect(near.didYouMean).not.toBe('Zanzibar Espresso Grinder');

    // The same statements as the other tenant find its products: the functions are scoped, not empty.
    const mine = await other(url, 'GET', '/v1/products/search?q=zanzibar');
    expect(mine.body.items.map((i: Hit) => i.slug).sort()).toEqual(['bialetti-moka-express', 'zanzibar-espresso']);
    expect((await other(url, 'GET', '/v1/products/suggest?q=zanzib')).body.products.map((p: { name: string }) => p.name).sort()).toEqual(['Bialetti Moka Express Deluxe', 'Zanzibar Espresso Grinder']);
    // Without a tenant nothing is read, as under row-level security.
    const none = await call(url, 'GET', '/v1/products/search?q=bialetti', undefined, { 'x-auth-tenant': '' });
    expect(none.status === 200 ? none.body.total : 0).toBe(0);
  });
});
