/**
 * Search and autocomplete follow product writes at once: the vocabulary
 * search corrects against is cached per tenant and dropped by every product
 * write (src/domain/search.ts), and autocomplete's narrow table is written by
 * triggers on products in the writing transaction (migrations/0011). A new
 * word is searchable and completes right after the create, a rename moves
 * autocomplete and did-you-mean (product_names, 0013) to the new name, a
 * delete takes the product out of all three, and inventory's stock updates
 * (system context) reach the autocomplete table.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { withSystemContext } from '@bulwark/db';
import { TEST_TENANT } from '@bulwark/test-support';
import { recordAvailability } from '../src/store/stock-store.ts';
import { ADMIN, call, productBody, setupCatalog, type TestCatalog } from './support.ts';

describe('search after product writes', () => {
  let env: TestCatalog;
  let url: string;
  const suggested = async (q: string) => ((await call(url, 'GET', `/v1/products/suggest?q=${q}`)).body.products as { name: string }[]).map((p) => p.name);
  const didYouMean = async (q: string) => (await call(url, 'GET', `/v1/products/search?q=${encodeURIComponent(q)}`)).body.didYouMean as string | undefined;
  const found = async (q: string) => ((await call(url, 'GET', `/v1/products/search?q=${q}`)).body.items as { name: string }[]).map((p) => p.name);

  beforeAll(async () => {
    env = await setupCatalog();
    ({ url } = await env.start());
    expect((await call(url, 'PUT', '/v1/categories/mugs', { name: 'Mugs' }, ADMIN)).status).toBe(201);
    expect((await call(url, 'POST', '/v1/products', productBody({ name: 'Plain Mug' }), ADMIN)).status).toBe(201);
  });
  afterAll(() => env?.cleanup());

  it('when a product with a new word is created, renamed and deleted, then search and autocomplete follow each write', async () => {
    // The vocabulary is cached now, without "quokka".
    expect(await found('plain')).toEqual(['Plain Mug']);
    expect(await found('quokka')).toEqual([]);

    const created = await call(url, 'POST', '/v1/products', productBody({ name: 'Quokka Lantern', tags: ['camping'] }), ADMIN);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(await found('quokka')).toEqual(['Quokka Lantern']);
    expect(await found('qokka')).toEqual(['Quokka Lantern']); // a typo corrected to the new word
    expect(await suggested('quok')).toEqual(['Quokka Lantern']);
    // A search hit is the product as its own route answers it (search reads it in the same statement).
    const hit = (await call(url, 'GET', '/v1/products/search?q=quokka')).body.items[0];
    expect(hit).toEqual((await call(url, 'GET', `/v1/products/${id}`)).body);

    const renamed = await call(url, 'PUT', `/v1/products/${id}`, productBody({ slug: created.body.slug, name: 'Wombat Lantern', tags: ['camping'] }), ADMIN);
    expect(renamed.status).toBe(200);
    expect(await suggested('quok')).toEqual([]);
    expect(await suggested('womb')).toEqual(['Wombat Lantern']);
    expect(await found('wombat')).toEqual(['Wombat Lantern']);
    expect(await didYouMean('wombat lanterns xylophone')).toBe('Wombat Lantern'); // no hits: the closest name, renamed

    expect((await call(url, 'DELETE', `/v1/products/${id}`, undefined, ADMIN)).status).toBe(204);
    expect(await suggested('womb')).toEqual([]);
    expect(await found('lantern')).toEqual([]);
    expect(await didYouMean('wombat lanterns xylophone')).toBeUndefined();
    const { rows } = await env.db.query('SELECT product_id FROM product_suggest WHERE product_id = $1', [id]);
    expect(rows).toEqual([]);
  });

  it('when inventory reports a product sold out, then its autocomplete row says so too', async () => {
    const created = await call(url, 'POST', '/v1/products', productBody({ name: 'Numbat Flask' }), ADMIN);
    const sku = (created.body.variants as { sku: string }[]).map((v) => v.sku);
    await withSystemContext(env.db, 'test.stock', () => recordAvailability(env.db, new Map(sku.map((s) => [s, 0]))));
    const { rows } = await env.db.query<{ in_stock: boolean; tenant_id: string }>('SELECT in_stock, tenant_id FROM product_suggest WHERE product_id = $1', [created.body.id]);
    expect(rows).toEqual([{ in_stock: false, tenant_id: TEST_TENANT }]);
    expect(await suggested('numb')).toEqual(['Numbat Flask']); // still suggested, ranked after in-stock matches
  });
});
