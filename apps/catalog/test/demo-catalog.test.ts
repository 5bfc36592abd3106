/**
 * POST /v1/products/demo-catalog: `npm run up` loads the demo catalog into
 * the demo organisation's tenant, whose id only its admin's token names.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '@bulwark/test-support';
import { ADMIN, call, CUSTOMER, setupCatalog, type TestCatalog } from './support.ts';

describe('demo catalog route', () => {
  let env: TestCatalog;
  let url: string;
  beforeAll(async () => {
    env = await setupCatalog();
    ({ url } = await env.start({ CATALOG_DEMO_ROUTE: 'true', CATALOG_SEED_COUNT: '60' }));
  });
  afterAll(() => env.cleanup());

  it("when an admin asks for the demo catalog, then 202 at once and the products become searchable in the admin's tenant; a customer gets 403", async () => {
    expect((await call(url, 'POST', '/v1/products/demo-catalog', {}, CUSTOMER)).status).toBe(403);
    const started = await call(url, 'POST', '/v1/products/demo-catalog', {}, ADMIN);
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ tenant: 'tenant-a', products: 60 });
    await waitFor(async () => (await call(url, 'GET', '/v1/products/search?q=bialetti%20moka')).body.items?.[0]?.slug === 'bialetti-moka-express', 'the anchor searchable', 30_000);
    const again = await call(url, 'POST', '/v1/products/demo-catalog', {}, ADMIN);
    expect(again.status).toBe(202);
    await waitFor(async () => (await call(url, 'GET', '/v1/products/search?limit=100')).body.total === 60, 'exactly the 60 demo products (a second load adds none)', 30_000);
  });

  it('when the route is off (the default), then POST is not served there (405: the path is only GET /v1/products/:id)', async () => {
    const { url: plain } = await env.start();
    expect((await call(plain, 'POST', '/v1/products/demo-catalog', {}, ADMIN)).status).toBe(405);
  });
});
