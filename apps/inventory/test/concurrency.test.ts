import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { assertStockConsistent, call, key, setupInventory, type TestInventory } from './support.ts';

let env: TestInventory;
beforeEach(async () => {
  env = await setupInventory();
});
afterEach(async () => {
  await env.cleanup();
});

describe('no overselling', () => {
  it('when 50 reservations race for 10 units, then exactly 10 are held, 40 get 409, and stock never goes negative', async () => {
    const { url } = await env.start();
    await call(url, 'PUT', '/v1/skus/HOT', { onHand: 10 });
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => call(url, 'POST', '/v1/internal/reservations', { orderId: `o-${i}`, items: [{ sku: 'HOT', quantity: 1 }] }, key())));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(40);
    expect(replies.filter((r) => r.status === 409).every((r) => r.body.code === 'INVENTORY_INSUFFICIENT_STOCK')).toBe(true);
    expect((await call(url, 'GET', '/v1/skus/HOT')).body).toEqual({ sku: 'HOT', onHand: 10, reserved: 10, available: 0 });
    const { rows } = await env.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reservations WHERE status = 'held'`);
    expect(rows[0]!.n).toBe(10);
    await assertStockConsistent(env.db);
  });

  it('when multi-SKU reservations race on two instances in opposite item order, then no SKU is oversold and none deadlocks', async () => {
    const a = await env.start();
    const b = await env.start();
    await call(a.url, 'PUT', '/v1/skus/X', { onHand: 12 });
    await call(a.url, 'PUT', '/v1/skus/Y', { onHand: 12 });
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call(i % 2 ? a.url : b.url, 'POST', '/v1/internal/reservations', { orderId: `o-${i}`, items: i % 2 ? [{ sku: 'X', quantity: 2 }, { sku: 'Y', quantity: 1 }] : [{ sku: 'Y', quantity: 1 }, { sku: 'X', quantity: 1 }] }, key()),
      ),
    );
    expect(replies.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    const x = (await call(a.url, 'GET', '/v1/skus/X')).body;
    const y = (await call(a.url, 'GET', '/v1/skus/Y')).body;
    expect(x.reserved).toBeLessThanOrEqual(12);
    expect(y.reserved).toBeLessThanOrEqual(12);
    const held = replies.filter((r) => r.status === 201).map((r) => r.body.items as { sku: string; quantity: number }[]);
    const sum = (sku: string) => held.flat().filter((i) => i.sku === sku).reduce((s, i) => s + i.quantity, 0);
    expect(x.reserved).toBe(sum('X'));
    expect(y.reserved).toBe(sum('Y'));
    await assertStockConsistent(env.db);
  });

  it('when the same reservation is sent 20 times at once with one key (wait mode), then one is held and 19 replays match it', async () => {
    const { url } = await env.start({ IDEMPOTENCY_CONCURRENT: 'wait' });
    await call(url, 'PUT', '/v1/skus/A', { onHand: 100 });
    const h = key();
    const body = { orderId: `o-${randomUUID()}`, items: [{ sku: 'A', quantity: 3 }] };
    const replies = await Promise.all(Array.from({ length: 20 }, () => call(url, 'POST', '/v1/internal/reservations', body, h)));
    expect(replies.every((r) => r.status === 201)).toBe(true);
    expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    expect((await call(url, 'GET', '/v1/skus/A')).body).toMatchObject({ reserved: 3 });
  });

  it('when confirm and release race on one reservation, then exactly one transition wins and stock stays consistent', async () => {
    const { url } = await env.start();
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    const id = (await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-1', items: [{ sku: 'A', quantity: 5 }] }, key())).body.id as string;
    const [c, r] = await Promise.all([call(url, 'POST', `/v1/internal/reservations/${id}/confirm`, undefined, key()), call(url, 'POST', `/v1/internal/reservations/${id}/release`, undefined, key())]);
    expect(r.status).toBe(200);
    const stock = (await call(url, 'GET', '/v1/skus/A')).body;
    // Release then confirm: confirm is 409, all 10 on hand. Confirm then release: both 200, the units went back on hand.
    expect(stock).toEqual({ sku: 'A', onHand: 10, reserved: 0, available: 10 });
    expect([200, 409]).toContain(c.status);
    await assertStockConsistent(env.db);
  });
});
