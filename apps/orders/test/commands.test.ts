import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ADDRESS, call, setupOrders, waitFor, type TestOrders } from './support.ts';

const PROBLEM = 'application/problem+json';

describe('order commands and queries over HTTP', () => {
  let t: TestOrders;
  let url: string;
  beforeAll(async () => {
    t = await setupOrders();
    ({ url } = await t.start());
  });
  afterAll(() => t.cleanup());

  const create = async (customerId = 'c-1'): Promise<string> => {
    const res = await call(url, 'POST', '/orders', { customerId });
    expect(res.status).toBe(201);
    return res.body.order.orderId as string;
  };

  it('when an order goes draft → items → address → placed → shipped, then each step returns the new version as ETag and the read model catches up', async () => {
    const id = await create();
    let res = await call(url, 'POST', `/orders/${id}/items`, { sku: 'A', quantity: 2, unitPriceCents: 500 }, { 'if-match': '"1"' });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
    res = await call(url, 'POST', `/orders/${id}/items`, { sku: 'B', quantity: 1, unitPriceCents: 250, expectedVersion: 2 });
    expect(res.body.version).toBe(3);
    res = await call(url, 'DELETE', `/orders/${id}/items/B`, undefined, { 'if-match': '"3"' });
    expect(res.body.order.totalCents).toBe(1000);
    res = await call(url, 'PUT', `/orders/${id}/address`, { address: ADDRESS });
    res = await call(url, 'POST', `/orders/${id}/place`, {}, { 'if-match': res.headers.get('etag')! });
    expect(res.body).toMatchObject({ version: 6, order: { status: 'placed', totalCents: 1000 } });
    res = await call(url, 'POST', `/orders/${id}/ship`, { carrier: 'ups' });
    expect(res.body.order.status).toBe('shipped');
    await waitFor(async () => (await call(url, 'GET', `/orders/${id}`)).body?.version === 7, 'read model at version 7');
    const read = await call(url, 'GET', `/orders/${id}`);
    expect(read.headers.get('etag')).toBe('"7"');
    expect(read.body).toMatchObject({ orderId: id, customerId: 'c-1', status: 'shipped', items: [{ sku: 'A', quantity: 2, unitPriceCents: 500 }], address: ADDRESS, totalCents: 1000 });
  });

  it('when commands break the rules, then they answer problem+json: 409 for the wrong state, 422 for business rules, 404 for unknown orders', async () => {
    const id = await create();
    const empty = await call(url, 'POST', `/orders/${id}/place`, {});
    expect(empty.status).toBe(422);
    expect(empty.headers.get('content-type')).toContain(PROBLEM);
    expect(empty.body).toMatchObject({ code: 'ORDERS_RULE_VIOLATED', rule: 'has-items' });
    await call(url, 'POST', `/orders/${id}/items`, { sku: 'A', quantity: 1, unitPriceCents: 1 });
    expect((await call(url, 'POST', `/orders/${id}/place`, {})).body).toMatchObject({ code: 'ORDERS_RULE_VIOLATED', rule: 'has-address' });
    expect((await call(url, 'DELETE', `/orders/${id}/items/nope`)).status).toBe(422);
    await call(url, 'PUT', `/orders/${id}/address`, { address: ADDRESS });
    expect((await call(url, 'POST', `/orders/${id}/place`, {})).status).toBe(200);
    const late = await call(url, 'POST', `/orders/${id}/items`, { sku: 'B', quantity: 1, unitPriceCents: 1 });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: 'ORDERS_INVALID_STATE', status: 409 });
    await call(url, 'POST', `/orders/${id}/ship`, { carrier: 'dhl' });
    const cancel = await call(url, 'POST', `/orders/${id}/cancel`, { reason: 'too late' });
    expect(cancel.status).toBe(409);
    expect(cancel.body).toMatchObject({ code: 'ORDERS_INVALID_STATE', status: 409 });
    for (const [method, path, body] of [
      ['POST', '/orders/unknown-1/items', { sku: 'A', quantity: 1, unitPriceCents: 1 }],
      ['POST', '/orders/unknown-1/cancel', { reason: 'x' }],
      ['GET', '/orders/unknown-1', undefined],
    ] as const) {
      const res = await call(url, method, path, body);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'ORDERS_NOT_FOUND' });
    }
  });

  it('when the input is invalid or the expected version is wrong, then the answer is 400 or 409 problem+json', async () => {
    const id = await create();
    const bad = await call(url, 'POST', `/orders/${id}/items`, { sku: '', quantity: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('REQUEST_VALIDATION_FAILED');
    expect((await call(url, 'POST', '/orders', { customerId: 42 })).status).toBe(400);
    const stale = await call(url, 'POST', `/orders/${id}/items`, { sku: 'A', quantity: 1, unitPriceCents: 1 }, { 'if-match': '"7"' });
    expect(stale.status).toBe(409);
    expect(stale.headers.get('content-type')).toContain(PROBLEM);
    expect(stale.body).toMatchObject({ code: 'ORDERS_VERSION_CONFLICT', expectedVersion: 7, actualVersion: 1 });
    expect((await call(url, 'POST', `/orders/${id}/items`, { sku: 'A', quantity: 1, unitPriceCents: 1 }, { 'if-match': 'banana' })).body.code).toBe('ORDERS_INVALID_PRECONDITION');
    expect((await call(url, 'POST', `/orders/${id}/place`, { expectedVersion: 1 }, { 'if-match': '"2"' })).status).toBe(400);
    expect((await call(url, 'POST', '/orders', { orderId: id, customerId: 'c' })).body.code).toBe('ORDERS_ALREADY_EXISTS');
  });

  it('when ten clients send a command with the same If-Match at once, then exactly one succeeds and the others get 409 ORDERS_VERSION_CONFLICT', async () => {
    const id = await create();
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => call(url, 'POST', `/orders/${id}/items`, { sku: `S${i}`, quantity: 1, unitPriceCents: 1 }, { 'if-match': '"1"' })));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    const conflicts = replies.filter((r) => r.status === 409);
    expect(conflicts).toHaveLength(9);
    for (const c of conflicts) expect(c.body.code).toBe('ORDERS_VERSION_CONFLICT');
  });

  it('when a customer has many orders, then keyset pages list each exactly once, newest first, and status counts add up', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await create('c-pages'));
    await call(url, 'POST', `/orders/${ids[0]}/cancel`, { reason: 'changed my mind' });
    await waitFor(async () => (await call(url, 'GET', `/orders/${ids[0]}`)).body?.status === 'cancelled', 'cancel projected');
    await waitFor(async () => (await call(url, 'GET', '/projections')).body.projections.every((p: { lagEvents: number }) => p.lagEvents === 0), 'projections caught up');
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: { body: { orders: { orderId: string }[]; nextCursor: string | null } } = await call(url, 'GET', `/customers/c-pages/orders?limit=3${after ? `&after=${after}` : ''}`);
      seen.push(...page.body.orders.map((o) => o.orderId));
      after = page.body.nextCursor;
    } while (after);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen[0]).toBe(ids[6]);
    const counts = (await call(url, 'GET', '/order-stats/status-counts')).body.counts as Record<string, number>;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const { rows } = await t.db.query<{ n: string }>('SELECT count(*)::text AS n FROM streams');
    expect(total).toBe(Number(rows[0]!.n));
    expect(counts.cancelled).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/orders_projection_lag_events\{projection="order-summaries"[^}]*\} 0/);
  });
});
