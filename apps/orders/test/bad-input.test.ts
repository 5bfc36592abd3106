/**
 * Input no store can take is refused at the edge (the kit's checks), before
 * any event is appended: U+0000 and unpaired surrogates in any string, and
 * JSON nested past BODY_MAX_DEPTH in a property the schema leaves open.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PROBLEM } from '@bulwark/test-support';
import { ADDRESS, call, setupOrders, waitFor, type TestOrders } from './support.ts';

describe('bad input to the orders API', () => {
  let t: TestOrders;
  let url: string;
  let orderId: string;
  beforeAll(async () => {
    t = await setupOrders();
    ({ url } = await t.start());
    const res = await call(url, 'POST', '/orders', { customerId: 'c-1' });
    expect(res.status).toBe(201);
    orderId = res.body.order.orderId as string;
  });
  afterAll(() => t.cleanup());

  const events = async (): Promise<number> => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n;

  async function expectRefused(method: string, path: string, body: unknown, field: string): Promise<void> {
    const before = await events();
    const res = await call(url, method, path, body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe(PROBLEM);
    expect(res.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: expect.arrayContaining([expect.objectContaining({ in: 'body', path: field })]) });
    expect(await events()).toBe(before);
  }

  it('when customerId holds \\u0000, then 400 problem+json and no order is created', async () => {
    await expectRefused('POST', '/orders', { customerId: 'c\u0000' }, 'customerId');
  });

  it('when an address line1 holds \\u0000, then 400 and the address is not set', async () => {
    await expectRefused('PUT', `/orders/${orderId}/address`, { address: { ...ADDRESS, line1: '1 Main\u0000St' } }, 'address.line1');
  });

  it('when an item sku holds \\u0000, then 400 and no item is added', async () => {
    await expectRefused('POST', `/orders/${orderId}/items`, { sku: 'A\u0000', quantity: 1, unitPriceCents: 100 }, 'sku');
  });

  it('when a cancel reason holds \\u0000 or an unpaired surrogate, then 400 and the order is not cancelled', async () => {
    await expectRefused('POST', `/orders/${orderId}/cancel`, { reason: 'changed\u0000mind' }, 'reason');
    await expectRefused('POST', `/orders/${orderId}/cancel`, { reason: 'changed \ud800 mind' }, 'reason');
  });

  it('when a property the schema leaves open nests 10,000 levels, then 400 JSON_TOO_DEEP and nothing is stored', async () => {
    const before = await events();
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const res = await call(url, 'POST', '/orders', `{"customerId":"c-2","extra":${deep}}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe(PROBLEM);
    expect(res.body).toMatchObject({ code: 'JSON_TOO_DEEP', maxDepth: 64 });
    expect(await events()).toBe(before);
  });

  it('when a customer-orders cursor carries a NUL or a time PostgreSQL cannot read, then 400, not a 500', async () => {
    const cursor = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const after of [['2024-01-01T00:00:00.000Z', '\u0000'], ['1.5', 'o-1'], ['99999999999999999999', 'o-1'], ['999999999999999999', 'o-1'], ['Tue 2024', 'o-1'], ['0000-01-01T00:00:00.000Z', 'o-1'], ['2024-02-30T00:00:00.000Z', 'o-1'], 'x']) {
      const res = await call(url, 'GET', `/customers/c-1/orders?after=${cursor(after)}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'ORDERS_INVALID_PRECONDITION' });
    }
  });

  it('when pages are followed with the cursor the API hands out, then every order is listed once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call(url, 'POST', '/orders', { customerId: 'c-pages' })).body.order.orderId as string);
    await waitFor(async () => (await call(url, 'GET', '/customers/c-pages/orders')).body.orders.length === 3, 'read model has the 3 orders');
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res = await call(url, 'GET', `/customers/c-pages/orders?limit=1${after === null ? '' : `&after=${after}`}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.orders.map((o: { orderId: string }) => o.orderId));
      after = res.body.nextCursor as string | null;
    } while (after !== null && seen.length < 10);
    expect(seen.sort()).toEqual(ids.sort());
  });

  it('when a path parameter holds %00, then 400 problem+json', async () => {
    const res = await call(url, 'GET', '/customers/c%00/orders');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'params', path: 'customerId' }] });
  });
});
