import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { assertStockConsistent, call, key, serviceAuth, setupInventory, type TestInventory } from './support.ts';

let env: TestInventory;
let url: string;
beforeEach(async () => {
  env = await setupInventory();
  ({ url } = await env.start());
});
afterEach(async () => {
  await env.cleanup();
});

const stock = async (sku: string) => (await call(url, 'GET', `/v1/skus/${sku}`)).body;
const reserve = (items: { sku: string; quantity: number }[], headers = key(), extra: Record<string, unknown> = {}) => call(url, 'POST', '/v1/internal/reservations', { orderId: `o-${randomUUID()}`, items, ...extra }, headers);
const count = async (table: string) => (await env.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

describe('stock', () => {
  it('when a SKU is set, then it reads back with available = onHand - reserved', async () => {
    expect((await call(url, 'PUT', '/v1/skus/A-1', { onHand: 5 })).body).toEqual({ sku: 'A-1', onHand: 5, reserved: 0, available: 5 });
    await reserve([{ sku: 'A-1', quantity: 2 }]);
    expect(await stock('A-1')).toEqual({ sku: 'A-1', onHand: 5, reserved: 2, available: 3 });
  });

  it('when a SKU is unknown, then 404 problem', async () => {
    const r = await call(url, 'GET', '/v1/skus/nope');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'INVENTORY_SKU_NOT_FOUND', type: 'https://bulwark.dev/problems/inventory-sku-not-found' });
  });

  it('when onHand would go below the reserved units, then 409 and the stock is unchanged', async () => {
    await call(url, 'PUT', '/v1/skus/A', { onHand: 5 });
    await reserve([{ sku: 'A', quantity: 4 }]);
    const r = await call(url, 'PUT', '/v1/skus/A', { onHand: 3 });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'INVENTORY_STOCK_BELOW_RESERVED', reserved: 4 });
    expect(await stock('A')).toMatchObject({ onHand: 5, reserved: 4 });
  });

  it('when onHand is negative, then 400 and nothing is written', async () => {
    const r = await call(url, 'PUT', '/v1/skus/A', { onHand: -1 });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('REQUEST_VALIDATION_FAILED');
    expect(await count('skus')).toBe(0);
  });
});

describe('reservations', () => {
  it('when every SKU has stock, then 201 held with expiry and items, and the stock is held', async () => {
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    await call(url, 'PUT', '/v1/skus/B', { onHand: 10 });
    const r = await reserve([{ sku: 'B', quantity: 2 }, { sku: 'A', quantity: 3 }], key(), { ttlSeconds: 60 });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: 'held', items: [{ sku: 'A', quantity: 3 }, { sku: 'B', quantity: 2 }] });
    expect(r.headers.get('location')).toBe(`/v1/internal/reservations/${r.body.id}`);
    const ttl = Date.parse(r.body.expiresAt) - Date.parse(r.body.createdAt);
    expect(ttl).toBe(60_000);
    expect(await stock('A')).toMatchObject({ reserved: 3, available: 7 });
    const read = await call(url, 'GET', `/v1/internal/reservations/${r.body.id}`);
    expect(read.body).toEqual(r.body);
  });

  it('when one SKU is short, then 409 insufficient-stock names it and nothing is held (all or nothing)', async () => {
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    await call(url, 'PUT', '/v1/skus/B', { onHand: 1 });
    const r = await reserve([{ sku: 'A', quantity: 3 }, { sku: 'B', quantity: 2 }]);
    expect(r.status).toBe(409);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body).toMatchObject({ code: 'INVENTORY_INSUFFICIENT_STOCK', type: 'https://bulwark.dev/problems/inventory-insufficient-stock', skus: [{ sku: 'B', requested: 2, available: 1 }] });
    expect(await stock('A')).toMatchObject({ reserved: 0 });
    expect(await stock('B')).toMatchObject({ reserved: 0 });
    expect(await count('reservations')).toBe(0);
  });

  it('when a SKU is unknown, then 422 naming it, nothing held', async () => {
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    const r = await reserve([{ sku: 'A', quantity: 1 }, { sku: 'ghost', quantity: 1 }]);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'INVENTORY_UNKNOWN_SKU', skus: ['ghost'] });
    expect(await stock('A')).toMatchObject({ reserved: 0 });
    expect(await count('reservations')).toBe(0);
  });

  it('when quantities are negative or zero, SKUs repeat or the body is malformed, then 400 and nothing is recorded (not even the key)', async () => {
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    for (const items of [[{ sku: 'A', quantity: -1 }], [{ sku: 'A', quantity: 0 }], [{ sku: 'A', quantity: 1.5 }], [], [{ sku: 'A', quantity: 1 }, { sku: 'A', quantity: 1 }]]) {
      const r = await reserve(items);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('REQUEST_VALIDATION_FAILED');
    }
    const malformed = await fetch(`${url}/v1/internal/reservations`, { method: 'POST', headers: { 'content-type': 'application/json', ...key(), ...(await serviceAuth()) }, body: '{"orderId":' });
    expect(malformed.status).toBe(400);
    expect(await stock('A')).toMatchObject({ reserved: 0 });
    expect(await count('reservations')).toBe(0);
    expect(await count('idempotency_keys')).toBe(0);
  });

  it('when the Idempotency-Key is missing, then 400 and nothing is held', async () => {
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    const r = await reserve([{ sku: 'A', quantity: 1 }], {});
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_MISSING' });
    expect(await stock('A')).toMatchObject({ reserved: 0 });
  });

  it('when a reservation is retried with the same key, then the same reservation is replayed and stock is held once', async () => {
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    const h = key();
    const body = { orderId: 'o-1', items: [{ sku: 'A', quantity: 4 }] };
    const first = await call(url, 'POST', '/v1/internal/reservations', body, h);
    const again = await call(url, 'POST', '/v1/internal/reservations', body, h);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await stock('A')).toMatchObject({ reserved: 4 });
    expect(await count('reservations')).toBe(1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/idempotency_requests_total\{[^}]*scope="inventory"[^}]*outcome="replayed"[^}]*\} 1/);
    expect(metrics).toMatch(/inventory_reservations_total\{[^}]*transition="reserved"[^}]*\} 1/);
  });

  it('when a key is reused with a different body, then 422 and nothing more is held', async () => {
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    const h = key();
    await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-1', items: [{ sku: 'A', quantity: 4 }] }, h);
    const reused = await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-1', items: [{ sku: 'A', quantity: 5 }] }, h);
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await stock('A')).toMatchObject({ reserved: 4 });
  });

  it('when an insufficient-stock answer is retried after stock arrives, then the same 409 is replayed (failed_final)', async () => {
    await call(url, 'PUT', '/v1/skus/A', { onHand: 1 });
    const h = key();
    const body = { orderId: 'o-1', items: [{ sku: 'A', quantity: 2 }] };
    expect((await call(url, 'POST', '/v1/internal/reservations', body, h)).status).toBe(409);
    await call(url, 'PUT', '/v1/skus/A', { onHand: 5 });
    const again = await call(url, 'POST', '/v1/internal/reservations', body, h);
    expect(again.status).toBe(409);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await stock('A')).toMatchObject({ reserved: 0 });
  });

  it('when reservations are listed by order, then each one of the order comes back', async () => {
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    const a = await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-42', items: [{ sku: 'A', quantity: 1 }] }, key());
    const b = await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-42', items: [{ sku: 'A', quantity: 2 }] }, key());
    await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-other', items: [{ sku: 'A', quantity: 1 }] }, key());
    const list = await call(url, 'GET', '/v1/internal/reservations?orderId=o-42');
    expect(list.status).toBe(200);
    expect(list.body.reservations.map((r: { id: string }) => r.id).sort()).toEqual([a.body.id, b.body.id].sort());
  });

  it('when a reservation id is not a UUID or unknown, then 400 / 404', async () => {
    expect((await call(url, 'GET', '/v1/internal/reservations/nope')).status).toBe(400);
    const missing = await call(url, 'GET', `/v1/internal/reservations/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('INVENTORY_RESERVATION_NOT_FOUND');
    expect((await call(url, 'POST', `/v1/internal/reservations/${randomUUID()}/confirm`, undefined, key())).status).toBe(404);
  });
});

describe('confirm and release', () => {
  async function held(quantity = 3): Promise<string> {
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    return (await reserve([{ sku: 'A', quantity }])).body.id as string;
  }

  it('when a held reservation is confirmed, then the units leave onHand and reserved; confirming again is a no-op', async () => {
    const id = await held();
    const c = await call(url, 'POST', `/v1/internal/reservations/${id}/confirm`, undefined, key());
    expect(c.status).toBe(200);
    expect(c.body).toEqual({ id, status: 'confirmed' });
    expect(await stock('A')).toEqual({ sku: 'A', onHand: 7, reserved: 0, available: 7 });
    const again = await call(url, 'POST', `/v1/internal/reservations/${id}/confirm`, undefined, key());
    expect(again.body).toEqual({ id, status: 'confirmed' });
    expect(await stock('A')).toMatchObject({ onHand: 7 });
  });

  it('when a held reservation is released, then the units are available again; releasing again stays released', async () => {
    const id = await held();
    expect((await call(url, 'POST', `/v1/internal/reservations/${id}/release`, undefined, key())).body).toEqual({ id, status: 'released' });
    expect(await stock('A')).toEqual({ sku: 'A', onHand: 10, reserved: 0, available: 10 });
    expect((await call(url, 'POST', `/v1/internal/reservations/${id}/release`, undefined, key())).body).toEqual({ id, status: 'released' });
    expect(await stock('A')).toMatchObject({ onHand: 10, reserved: 0 });
  });

  it('when a confirmed reservation is released (refund compensation), then its units go back on hand', async () => {
    const id = await held();
    await call(url, 'POST', `/v1/internal/reservations/${id}/confirm`, undefined, key());
    expect((await call(url, 'POST', `/v1/internal/reservations/${id}/release`, undefined, key())).body).toEqual({ id, status: 'released' });
    expect(await stock('A')).toEqual({ sku: 'A', onHand: 10, reserved: 0, available: 10 });
  });

  it('when a released reservation is confirmed, then 409 not-held', async () => {
    const id = await held();
    await call(url, 'POST', `/v1/internal/reservations/${id}/release`, undefined, key());
    const c = await call(url, 'POST', `/v1/internal/reservations/${id}/confirm`, undefined, key());
    expect(c.status).toBe(409);
    expect(c.body).toMatchObject({ code: 'INVENTORY_RESERVATION_NOT_HELD', releasedReason: 'requested' });
  });

  it('when a held reservation past its expiry is confirmed before the sweeper ran, then 409 and the hold is released', async () => {
    const id = await held(4);
    await env.db.query(`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    const c = await call(url, 'POST', `/v1/internal/reservations/${id}/confirm`, undefined, key());
    expect(c.status).toBe(409);
    expect(c.body).toMatchObject({ code: 'INVENTORY_RESERVATION_NOT_HELD', releasedReason: 'expired' });
    expect(await stock('A')).toMatchObject({ onHand: 10, reserved: 0 });
    expect((await call(url, 'GET', `/v1/internal/reservations/${id}`)).body).toMatchObject({ status: 'released', releasedReason: 'expired' });
    await assertStockConsistent(env.db);
  });

  it('when the saga retries a confirm with its key, then the answer is replayed', async () => {
    const id = await held();
    const h = { 'idempotency-key': 'saga-1:confirm_order' };
    await call(url, 'POST', `/v1/internal/reservations/${id}/confirm`, undefined, h);
    const again = await call(url, 'POST', `/v1/internal/reservations/${id}/confirm`, undefined, h);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual({ id, status: 'confirmed' });
  });
});
