/**
 * Stock adjustments with a reason (issue 28's admin), against real
 * PostgreSQL: the units and the log change together, exactly once per
 * Idempotency-Key, never below the reserved units, only for a stock admin.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PROBLEM } from '@bulwark/test-support';
import { call, key, serviceAuth, setupInventory, type TestInventory } from './support.ts';

const ADMIN = { 'x-auth-sub': 'admin-1', 'x-auth-roles': 'admin', 'x-auth-tenant': 'tenant-a' };

describe('stock adjustments', () => {
  let env: TestInventory;
  let url: string;
  beforeAll(async () => {
    env = await setupInventory();
    ({ url } = await env.start());
    expect((await call(url, 'PUT', '/v1/skus/ADJ', { onHand: 10 })).status).toBe(200);
  });
  afterAll(() => env.cleanup());

  it('when an admin adds and takes units with reasons, then stock and the log change together, once per Idempotency-Key', async () => {
    const k = key();
    const received = await call(url, 'POST', '/v1/skus/ADJ/adjustments', { delta: 5, reason: 'received', note: 'PO-17' }, { ...ADMIN, ...k });
    expect(received.status).toBe(201);
    expect(received.body).toMatchObject({ adjustment: { sku: 'ADJ', delta: 5, reason: 'received', note: 'PO-17', actor: 'admin-1', tenant: 'tenant-a', onHandAfter: 15 }, stock: { onHand: 15, available: 15 } });
    const replay = await call(url, 'POST', '/v1/skus/ADJ/adjustments', { delta: 5, reason: 'received', note: 'PO-17' }, { ...ADMIN, ...k });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(received.body);
    const damaged = await call(url, 'POST', '/v1/skus/ADJ/adjustments', { delta: -3, reason: 'damaged' }, { ...ADMIN, ...key() });
    expect(damaged.body).toMatchObject({ adjustment: { delta: -3, reason: 'damaged', onHandAfter: 12 }, stock: { onHand: 12 } });
    expect((await call(url, 'GET', '/v1/skus/ADJ')).body).toMatchObject({ onHand: 12 });
    const log = await call(url, 'GET', '/v1/skus/ADJ/adjustments', undefined, ADMIN);
    expect(log.status).toBe(200);
    expect((log.body.items as { delta: number }[]).map((a) => a.delta)).toEqual([-3, 5]);
  });

  it('when an adjustment would take on-hand below the reserved units, then 409 and nothing changes', async () => {
    expect((await call(url, 'PUT', '/v1/skus/HELD', { onHand: 4 })).status).toBe(200);
    const held = await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-adj', items: [{ sku: 'HELD', quantity: 3 }] }, { ...key(), ...(await serviceAuth()), 'x-auth-tenant': 'tenant-a' });
    expect(held.status).toBe(201);
    const refused = await call(url, 'POST', '/v1/skus/HELD/adjustments', { delta: -2, reason: 'lost' }, { ...ADMIN, ...key() });
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toBe(PROBLEM);
    expect(refused.body).toMatchObject({ code: 'INVENTORY_STOCK_BELOW_RESERVED', reserved: 3, onHand: 4, delta: -2 });
    expect((await call(url, 'GET', '/v1/skus/HELD')).body).toMatchObject({ onHand: 4, reserved: 3 });
    expect((await call(url, 'GET', '/v1/skus/HELD/adjustments', undefined, ADMIN)).body.items).toEqual([]);
    expect((await call(url, 'POST', '/v1/skus/HELD/adjustments', { delta: -1, reason: 'lost' }, { ...ADMIN, ...key() })).status).toBe(201);
  });

  it('when the caller is no stock admin, the SKU is unknown or the input is bad, then 4xx problems', async () => {
    const customer = await call(url, 'POST', '/v1/skus/ADJ/adjustments', { delta: 1, reason: 'received' }, { 'x-auth-sub': 'c', 'x-auth-roles': 'orders', ...key() });
    expect(customer.status).toBe(403);
    expect(customer.body.code).toBe('INVENTORY_ADMIN_ONLY');
    expect((await call(url, 'GET', '/v1/skus/ADJ/adjustments')).body.code).toBe('INVENTORY_ADMIN_ONLY');
    expect((await call(url, 'POST', '/v1/skus/NOPE/adjustments', { delta: 1, reason: 'received' }, { ...ADMIN, ...key() })).status).toBe(404);
    expect((await call(url, 'GET', '/v1/skus/NOPE/adjustments', undefined, ADMIN)).status).toBe(404);
    for (const body of [{ delta: 0, reason: 'received' }, { delta: 1, reason: 'because' }, { delta: 1.5, reason: 'received' }, { reason: 'received' }]) {
      const bad = await call(url, 'POST', '/v1/skus/ADJ/adjustments', body, { ...ADMIN, ...key() });
      expect(bad.status).toBe(400);
      expect(bad.headers.get('content-type')).toBe(PROBLEM);
    }
    expect((await call(url, 'POST', '/v1/skus/ADJ/adjustments', { delta: 1, reason: 'received' }, ADMIN)).status).toBe(400);
  });
});
