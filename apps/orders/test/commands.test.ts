import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createOrderRepository } from '../src/store/order-repository.ts';
import { newSaga } from '../src/saga/checkout-saga.ts';
import { claimDueSagas, insertSaga, recordDecision } from '../src/store/saga-store.ts';
import { PROBLEM } from '@bulwark/test-support';
import { ADDRESS, call, setupOrders, silent, waitFor, type TestOrders } from './support.ts';

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

  it('when orders of a customer were created within the same millisecond, then keyset pages still list each exactly once', async () => {
    // Rows straight into the read model: microseconds apart inside one millisecond, the page boundary between them.
    for (let i = 1; i <= 6; i++) {
      await t.db.query(`INSERT INTO order_summaries (order_id, customer_id, status, version, created_at, updated_at) VALUES ($1, 'c-same-ms', 'draft', 1, $2, $2)`, [
        `same-ms-${i}`,
        `2026-01-01T00:00:00.123${String(100 + i * 111).padStart(3, '0')}Z`,
      ]);
    }
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: { status: number; body: { orders: { orderId: string }[]; nextCursor: string | null } } = await call(url, 'GET', `/customers/c-same-ms/orders?limit=2${after ? `&after=${after}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.orders.map((o) => o.orderId));
      after = page.body.nextCursor;
    } while (after);
    expect(seen).toEqual(['same-ms-6', 'same-ms-5', 'same-ms-4', 'same-ms-3', 'same-ms-2', 'same-ms-1']);
  });

  it('when the gateway names the caller (x-auth-sub), then another customer\'s order is 404 for every route, orders are created and listed only for the caller, and an admin sees all', async () => {
    const ada = { 'x-auth-sub': 'ada', 'x-auth-roles': 'customer,orders' };
    const bob = { 'x-auth-sub': 'bob', 'x-auth-roles': 'customer,orders' };
    const admin = { 'x-auth-sub': 'root', 'x-auth-roles': 'admin,orders' };
    const created = await call(url, 'POST', '/orders', { customerId: 'ada' }, ada);
    expect(created.status).toBe(201);
    const id = created.body.order.orderId as string;
    expect((await call(url, 'POST', '/orders', { customerId: 'ada' }, bob)).body).toMatchObject({ status: 403, code: 'ORDERS_NOT_YOUR_CUSTOMER' });
    for (const [method, path, body] of [
      ['GET', `/orders/${id}`, undefined],
      ['POST', `/orders/${id}/items`, { sku: 'A', quantity: 1, unitPriceCents: 1 }],
      ['DELETE', `/orders/${id}/items/A`, undefined],
      ['PUT', `/orders/${id}/address`, { address: ADDRESS }],
      ['POST', `/orders/${id}/place`, {}],
      ['POST', `/orders/${id}/cancel`, { reason: 'not mine' }],
      ['GET', `/customers/ada/orders`, undefined],
    ] as const) {
      const res = await call(url, method, path, body, bob);
      expect([method, path, res.status]).toEqual([method, path, path.startsWith('/customers') ? 403 : 404]);
    }
    expect(await typesOf(id)).toEqual(['OrderCreated']);
    expect((await call(url, 'POST', `/orders/${id}/items`, { sku: 'A', quantity: 1, unitPriceCents: 1 }, ada)).status).toBe(200);
    await waitFor(async () => (await call(url, 'GET', `/orders/${id}`, undefined, ada)).status === 200, 'the owner reads the order');
    expect((await call(url, 'GET', `/orders/${id}`, undefined, admin)).status).toBe(200);
    expect((await call(url, 'GET', '/customers/ada/orders', undefined, ada)).body.orders.map((o: { orderId: string }) => o.orderId)).toContain(id);
    // Shipping is fulfilment's, not the customer's, even on its own order.
    expect((await call(url, 'POST', `/orders/${id}/ship`, { carrier: 'ups' }, ada)).body).toMatchObject({ status: 403, code: 'ORDERS_FULFILMENT_ONLY' });
    // Without a principal (service-to-service, operators) nothing changes.
    expect((await call(url, 'GET', `/orders/${id}`)).status).toBe(200);
  });

  const typesOf = async (streamId: string): Promise<string[]> =>
    (await t.db.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY version', [streamId])).rows.map((r) => r.type);

  it('when an item would take money past safe integers (1000 × 9007199254740991), then the schema refuses it with 400, the domain refuses totals past the payable maximum with 422, and nothing is appended', async () => {
    const id = await create();
    const overflow = await call(url, 'POST', `/orders/${id}/items`, { sku: 'A', quantity: 1000, unitPriceCents: Number.MAX_SAFE_INTEGER });
    expect(overflow.status).toBe(400);
    expect(overflow.headers.get('content-type')).toContain(PROBLEM);
    expect(overflow.body.code).toBe('REQUEST_VALIDATION_FAILED');
    // Within the per-field limits, past the order total that payments accepts (10^10 cents).
    const tooMuch = await call(url, 'POST', `/orders/${id}/items`, { sku: 'A', quantity: 2, unitPriceCents: 10_000_000_000 });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body).toMatchObject({ code: 'ORDERS_RULE_VIOLATED', rule: 'max-total' });
    // Adding one SKU again sums its quantity: the line is bounded too.
    expect((await call(url, 'POST', `/orders/${id}/items`, { sku: 'B', quantity: 1000, unitPriceCents: 1 })).status).toBe(200);
    const more = await call(url, 'POST', `/orders/${id}/items`, { sku: 'B', quantity: 1, unitPriceCents: 1 });
    expect(more.status).toBe(422);
    expect(more.body).toMatchObject({ code: 'ORDERS_RULE_VIOLATED', rule: 'max-quantity' });
    // Exactly the maximum total is fine, one cent more is not.
    expect((await call(url, 'POST', `/orders/${id}/items`, { sku: 'C', quantity: 1, unitPriceCents: 10_000_000_000 - 1000 })).status).toBe(200);
    expect((await call(url, 'POST', `/orders/${id}/items`, { sku: 'D', quantity: 1, unitPriceCents: 1 })).body).toMatchObject({ code: 'ORDERS_RULE_VIOLATED', rule: 'max-total' });
    expect(await typesOf(id)).toEqual(['OrderCreated', 'ItemAdded', 'ItemAdded']);
    // The read model keeps following: this order and a new one are visible.
    const next = await create();
    await waitFor(async () => (await call(url, 'GET', `/orders/${next}`)).status === 200, 'new order projected');
    expect((await call(url, 'GET', `/orders/${id}`)).body.totalCents).toBe(10_000_000_000);
  });

  it('when a command names an order that does not exist, then every command answers 404 and nothing is appended, not even below the HTTP layer', async () => {
    const ghost = 'ghost-order-1';
    for (const [method, path, body] of [
      ['POST', `/orders/${ghost}/cancel`, { reason: 'never existed' }],
      ['POST', `/orders/${ghost}/items`, { sku: 'A', quantity: 1, unitPriceCents: 1 }],
      ['DELETE', `/orders/${ghost}/items/A`, undefined],
      ['PUT', `/orders/${ghost}/address`, { address: ADDRESS }],
      ['POST', `/orders/${ghost}/place`, {}],
      ['POST', `/orders/${ghost}/ship`, { carrier: 'ups' }],
      ['POST', `/orders/${ghost}/cancel`, { reason: 'x', expectedVersion: 0 }],
    ] as const) {
      const res = await call(url, method, path, body);
      expect([method, path, res.status, res.body.code]).toEqual([method, path, 404, 'ORDERS_NOT_FOUND']);
    }
    // The repository itself refuses events the aggregate cannot take, before it writes.
    const orders = createOrderRepository(t.db, { snapshotEvery: 0, log: silent });
    await expect(orders.save(ghost, { state: undefined, version: 0 }, [{ type: 'OrderCancelled', data: { reason: 'x' } }])).rejects.toMatchObject({ code: 'ORDERS_NOT_FOUND' });
    expect(await typesOf(ghost)).toEqual([]);
    expect((await t.db.query('SELECT 1 FROM streams WHERE stream_id = $1', [ghost])).rowCount).toBe(0);
    const id = await create();
    const loaded = await orders.load(id);
    await expect(orders.save(id, loaded, [{ type: 'OrderCreated', data: { customerId: 'someone-else' } }])).rejects.toMatchObject({ code: 'ORDERS_ALREADY_EXISTS' });
    expect(await typesOf(id)).toEqual(['OrderCreated']);
  });

  it('when a saga step records an event for an order that has no stream, then it is refused and nothing is appended (no stream starts with a saga event)', async () => {
    const ghost = 'ghost-order-2';
    const saga = newSaga({ sagaId: randomUUID(), orderId: ghost, amountCents: 1, currency: 'EUR', items: [{ sku: 'A', quantity: 1 }], now: Date.now(), deadlineMs: 60_000 });
    await insertSaga(t.db, saga);
    const [claimed] = (await claimDueSagas(t.db, 'test-runner', 10, 60_000)).map((c) => c.state);
    expect(claimed?.sagaId).toBe(saga.sagaId);
    const event = { type: 'StockReserved', data: { sagaId: saga.sagaId, reservationId: 'r-1' } } as const;
    await expect(recordDecision(t.db, { owner: 'test-runner', leaseMs: 60_000, from: claimed!, to: claimed!, outcome: { kind: 'expired' }, event, expired: false, keepLease: false })).rejects.toMatchObject({ code: 'ORDERS_NOT_FOUND' });
    expect(await typesOf(ghost)).toEqual([]);
    expect((await t.db.query('SELECT 1 FROM streams WHERE stream_id = $1', [ghost])).rowCount).toBe(0);
  });
});
