/**
 * Products and categories over HTTP against real PostgreSQL and Redis: admin
 * writes (the admin role the gateway forwards), reads for everyone in the
 * tenant with a strong ETag and 304, the category tree and subtree moves,
 * tenant isolation, and bad input answered 4xx problem+json.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OTHER_TENANT, PROBLEM } from '@bulwark/test-support';
import { ADMIN, call, CUSTOMER, productBody, setupCatalog, type TestCatalog } from './support.ts';

describe('catalog products and categories', () => {
  let env: TestCatalog;
  let url: string;
  beforeAll(async () => {
    env = await setupCatalog();
    ({ url } = await env.start());
    expect((await call(url, 'PUT', '/v1/categories/kitchen', { name: 'Kitchen' }, ADMIN)).status).toBe(201);
    expect((await call(url, 'PUT', '/v1/categories/drinkware', { name: 'Drinkware', parent: 'kitchen' }, ADMIN)).status).toBe(201);
    expect((await call(url, 'PUT', '/v1/categories/mugs', { name: 'Mugs', parent: 'drinkware' }, ADMIN)).status).toBe(201);
  });
  afterAll(() => env.cleanup());

  it('when an admin creates a product, then anyone in the tenant reads it with its variants, category path and a strong ETag; the same ETag gets 304', async () => {
    const created = await call(url, 'POST', '/v1/products', productBody(), ADMIN);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/products/${created.body.id}`);
    const read = await call(url, 'GET', `/v1/products/${created.body.id}`, undefined, CUSTOMER);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ name: 'Stoneware Coffee Mug', categoryPath: 'kitchen/drinkware/mugs', variants: [{ attributes: { colour: 'blue' }, price: { amount: 1299, currency: 'EUR' } }, { price: { amount: 1499 } }] });
    const etag = read.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(read.headers.get('cache-control')).toBe('private, max-age=30');
    const again = await call(url, 'GET', `/v1/products/${created.body.id}`, undefined, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  it('when an admin replaces a product, then the next read shows the change (the cached copy is dropped) under a new ETag', async () => {
    const { body: p } = await call(url, 'POST', '/v1/products', productBody(), ADMIN);
    const before = await call(url, 'GET', `/v1/products/${p.id}`);
    const replaced = await call(url, 'PUT', `/v1/products/${p.id}`, productBody({ slug: p.slug, name: 'Porcelain Espresso Cup', variants: [{ sku: `${p.slug}-white`, price: { amount: 900, currency: 'EUR' } }] }), ADMIN);
    expect(replaced.status).toBe(200);
    const after = await call(url, 'GET', `/v1/products/${p.id}`, undefined, { 'if-none-match': before.headers.get('etag')! });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ name: 'Porcelain Espresso Cup', variants: [{ sku: `${p.slug}-white`, attributes: {} }] });
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
  });

  it('when an admin deletes a product, then it is 404 afterwards, and a second delete is 404', async () => {
    const { body: p } = await call(url, 'POST', '/v1/products', productBody(), ADMIN);
    expect((await call(url, 'GET', `/v1/products/${p.id}`)).status).toBe(200);
    expect((await call(url, 'DELETE', `/v1/products/${p.id}`, undefined, ADMIN)).status).toBe(204);
    const gone = await call(url, 'GET', `/v1/products/${p.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('CATALOG_PRODUCT_NOT_FOUND');
    expect((await call(url, 'DELETE', `/v1/products/${p.id}`, undefined, ADMIN)).status).toBe(404);
  });

  it('when a caller without the admin role (or without a principal) writes, then 403 CATALOG_ADMIN_ONLY and nothing is written', async () => {
    const body = productBody();
    for (const headers of [CUSTOMER, {}]) {
      const res = await call(url, 'POST', '/v1/products', body, headers);
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toBe(PROBLEM);
      expect(res.body.code).toBe('CATALOG_ADMIN_ONLY');
    }
    expect((await call(url, 'PUT', '/v1/categories/x', { name: 'X' }, CUSTOMER)).status).toBe(403);
    expect((await env.db.query('SELECT 1 FROM products WHERE slug = $1', [body.slug])).rowCount).toBe(0);
  });

  it('when the category tree is read, then it nests; moving a category carries its subtree and its products read the new path', async () => {
    const { body: p } = await call(url, 'POST', '/v1/products', productBody(), ADMIN);
    expect((await call(url, 'PUT', '/v1/categories/tableware', { name: 'Tableware' }, ADMIN)).status).toBe(201);
    expect((await call(url, 'PUT', '/v1/categories/drinkware', { name: 'Drinkware', parent: 'tableware' }, ADMIN)).status).toBe(200);
    const tree = await call(url, 'GET', '/v1/categories');
    const tableware = tree.body.categories.find((c: { slug: string }) => c.slug === 'tableware');
    expect(tableware).toMatchObject({ path: 'tableware', children: [{ slug: 'drinkware', path: 'tableware/drinkware', children: [{ slug: 'mugs', path: 'tableware/drinkware/mugs', children: [] }] }] });
    const search = await call(url, 'GET', `/v1/products/search?category=tableware&q=${encodeURIComponent('stoneware')}`);
    expect(search.body.items.map((i: { id: string }) => i.id)).toContain(p.id);
    const cycle = await call(url, 'PUT', '/v1/categories/tableware', { name: 'Tableware', parent: 'mugs' }, ADMIN);
    expect(cycle.status).toBe(422);
    expect(cycle.body.code).toBe('CATALOG_CATEGORY_CYCLE');
    const inUse = await call(url, 'DELETE', '/v1/categories/mugs', undefined, ADMIN);
    expect([inUse.status, inUse.body.code]).toEqual([409, 'CATALOG_CATEGORY_IN_USE']);
  });

  it('when another tenant reads or searches, then it sees none of this tenant\'s products', async () => {
    const { body: p } = await call(url, 'POST', '/v1/products', productBody({ name: 'Tenant Private Teapot' }), ADMIN);
    expect((await call(url, 'GET', `/v1/products/${p.id}`, undefined, { 'x-auth-tenant': OTHER_TENANT })).status).toBe(404);
    const search = await call(url, 'GET', '/v1/products/search?q=teapot', undefined, { 'x-auth-tenant': OTHER_TENANT });
    expect([search.status, search.body.total]).toEqual([200, 0]);
    expect((await call(url, 'GET', '/v1/products/search?q=teapot')).body.total).toBe(1);
  });

  it('when a product names an unknown category, a taken slug or a taken SKU, then 422 / 409 problem+json and nothing changes', async () => {
    const unknown = await call(url, 'POST', '/v1/products', productBody({ category: 'nope' }), ADMIN);
    expect([unknown.status, unknown.body.code, unknown.body.category]).toEqual([422, 'CATALOG_UNKNOWN_CATEGORY', 'nope']);
    const first = await call(url, 'POST', '/v1/products', productBody(), ADMIN);
    const slugTaken = await call(url, 'POST', '/v1/products', productBody({ slug: first.body.slug, variants: [{ sku: 'fresh-sku-1', price: { amount: 1, currency: 'EUR' } }] }), ADMIN);
    expect([slugTaken.status, slugTaken.body.code]).toEqual([409, 'CATALOG_SLUG_TAKEN']);
    const skuTaken = await call(url, 'POST', '/v1/products', productBody({ variants: [{ sku: first.body.variants[0].sku, price: { amount: 1, currency: 'EUR' } }] }), ADMIN);
    expect([skuTaken.status, skuTaken.body.code, skuTaken.body.sku]).toEqual([409, 'CATALOG_SKU_TAKEN', first.body.variants[0].sku]);
    expect(skuTaken.headers.get('content-type')).toBe(PROBLEM);
  });

  it.each([
    ['no variants', { variants: [] }, 'variants'],
    ['a negative price', { variants: [{ sku: 'a', price: { amount: -1, currency: 'EUR' } }] }, 'variants.0.price.amount'],
    ['a fractional price', { variants: [{ sku: 'a', price: { amount: 1.5, currency: 'EUR' } }] }, 'variants.0.price.amount'],
    ['a bad currency', { variants: [{ sku: 'a', price: { amount: 1, currency: 'euro' } }] }, 'variants.0.price.currency'],
    ['a duplicate sku', { variants: [{ sku: 'a', price: { amount: 1, currency: 'EUR' } }, { sku: 'a', price: { amount: 2, currency: 'EUR' } }] }, 'variants'],
    ['an image that is not an http URL', { images: ['javascript:alert(1)'] }, 'images.0'],
    ['an upper-case slug', { slug: 'Bad Slug' }, 'slug'],
    ['an empty name', { name: '  ' }, 'name'],
  ])('when a product has %s, then 400 REQUEST_VALIDATION_FAILED names %s', async (_what, over, path) => {
    const res = await call(url, 'POST', '/v1/products', productBody(over), ADMIN);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe(PROBLEM);
    expect(res.body.code).toBe('REQUEST_VALIDATION_FAILED');
    expect(res.body.issues.map((i: { path: string }) => i.path)).toContain(path);
  });

  it('when a product id, a search parameter or the JSON is malformed, then 400 problem+json', async () => {
    expect((await call(url, 'GET', '/v1/products/not-a-uuid')).status).toBe(400);
    const price = await call(url, 'GET', '/v1/products/search?minPrice=cheap&limit=1000');
    expect(price.status).toBe(400);
    expect(price.body.issues.map((i: { path: string }) => i.path).sort()).toEqual(['limit', 'minPrice']);
    const json = await call(url, 'POST', '/v1/products', '{"slug":', { ...ADMIN, 'content-type': 'application/json' });
    expect([json.status, json.body.code]).toEqual([400, 'MALFORMED_JSON']);
    expect((await call(url, 'GET', '/v1/products/search?q=%00')).status).toBe(400);
  });
});
