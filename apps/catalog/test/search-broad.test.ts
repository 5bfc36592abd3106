/**
 * Broad queries (migrations/0012, SEARCH_BROAD_HITS): a query whose rarest
 * word is in many products, without filters, ranks only the most popular
 * matches and says its total and facets are estimates; a filter, a price
 * sort or a query whose words rarely go together is searched whole, exactly.
 * The threshold is lowered so the demo catalog of the test has broad words.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TEST_TENANT } from '@bulwark/test-support';
import { call, setupCatalog, type TestCatalog } from './support.ts';

interface Page {
  total: number;
  approximate?: { candidates: number };
  items: { id: string; name: string; popularity: number; category: string }[];
  facets: { categories: { value: string; count: number }[] };
}

describe('broad searches', () => {
  let env: TestCatalog;
  let url: string;
  const search = async (query: string): Promise<Page> => {
    const res = await call(url, 'GET', `/v1/products/search?${query}`);
    expect(res.status).toBe(200);
    return res.body as Page;
  };
  const matching = async (word: string) =>
    Number((await env.db.query<{ n: string }>("SELECT count(*) AS n FROM products WHERE search @@ to_tsquery('english', $1)", [word])).rows[0]!.n);

  beforeAll(async () => {
    env = await setupCatalog();
    ({ url } = await env.start({ CATALOG_SEED_TENANT: TEST_TENANT, CATALOG_SEED_COUNT: '2000', SEARCH_BROAD_HITS: '100' }));
    await env.db.query('ANALYZE product_suggest'); // as autovacuum would: the walk's bound reads the row estimate
  }, 120_000);
  afterAll(() => env?.cleanup());

  it('when a word is in many products, then the most popular matches are ranked and the answer says total and facets are estimates', async () => {
    const hits = await matching('black');
    expect(hits).toBeGreaterThan(200);
    const broad = await search('q=black&limit=20');
    expect(broad.approximate).toEqual({ candidates: 200 });
    expect(broad.items).toHaveLength(20);
    expect(broad.total).toBeGreaterThanOrEqual(200);
    expect(broad.facets.categories.reduce((n, c) => n + c.count, 0)).toBeLessThanOrEqual(200); // counted over the candidates (top 20 categories)
    // The candidates are the 200 most popular matches: every item is at least as popular as the 200th match.
    const { rows } = await env.db.query<{ popularity: number }>(
      "SELECT popularity FROM products WHERE search @@ to_tsquery('english', 'black') AND tenant_id = $1 ORDER BY popularity DESC, id OFFSET 199 LIMIT 1",
      [TEST_TENANT],
    );
    for (const item of broad.items) expect(item.popularity).toBeGreaterThanOrEqual(rows[0]!.popularity);
  });

  it('when the broad query has a filter or a price sort, then it is searched whole and the total is exact', async () => {
    const filtered = await search('q=black&inStock=true');
    expect(filtered.approximate).toBeUndefined();
    expect(filtered.total).toBe(await matching('black'));
    const byPrice = await search('q=black&sort=price_asc');
    expect(byPrice.approximate).toBeUndefined();
    expect(byPrice.total).toBe(await matching('black'));
  });

  it('when the words are each common but rarely together, then fewer than the candidates are found and the query is searched whole', async () => {
    const narrow = await search('q=black+white');
    expect(narrow.approximate).toBeUndefined();
    expect(narrow.total).toBe(await matching('black & white'));
  });
});
