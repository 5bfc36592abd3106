/**
 * Tenant isolation of inventory (issue 25): the service connects as the
 * runtime role, reservations, their items and outbox events are under
 * row-level security, requests run as x-auth-tenant, and the expiry sweeper
 * (every tenant's holds) files each event under its reservation's tenant.
 * SKU stock is shared catalogue data: every tenant holds from the same stock.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { withTenant } from '@bulwark/db';
import { OTHER_TENANT, TEST_TENANT } from '@bulwark/test-support';
import type { InventoryApp } from '../src/app.ts';
import { assertStockConsistent, call, key, setupInventory, type TestInventory } from './support.ts';

const asOther = { 'x-auth-tenant': OTHER_TENANT };
const noTenant = { 'x-auth-tenant': '' };

describe('inventory tenants (row-level security)', () => {
  let env: TestInventory;
  let app: InventoryApp;
  let url: string;

  beforeAll(async () => {
    env = await setupInventory();
    ({ app, url } = await env.start());
    expect((await call(url, 'PUT', '/v1/skus/A', { onHand: 100 })).status).toBeLessThan(300);
  });
  afterAll(() => env.cleanup());

  const reserve = async (headers: Record<string, string> = {}, quantity = 1) => {
    const res = await call(url, 'POST', '/v1/internal/reservations', { orderId: `o-${randomUUID()}`, items: [{ sku: 'A', quantity }] }, { ...key(), ...headers });
    expect(res.status).toBe(201);
    return res.body as { id: string; orderId: string };
  };

  it("when a tenant runs a deliberately unscoped SELECT * through the app's pool, then it gets only its own reservations, items and outbox events; stock is shared", async () => {
    const mine = await reserve();
    const theirs = await reserve(asOther, 2);
    for (const table of ['reservations', 'reservation_items', 'inventory_events_outbox']) {
      const rows = (await withTenant(TEST_TENANT, () => app.pool.query<{ tenant_id: string }>(`SELECT * FROM ${table}`))).rows;
      expect([table, rows.length > 0]).toEqual([table, true]);
      expect([table, new Set(rows.map((r) => r.tenant_id))]).toEqual([table, new Set([TEST_TENANT])]);
    }
    const ids = (await withTenant(OTHER_TENANT, () => app.pool.query<{ id: string }>('SELECT * FROM reservations'))).rows.map((r) => r.id);
    expect(ids).toEqual([theirs.id]);
    expect(ids).not.toContain(mine.id);
    // One stock for every tenant: both holds count against it, and either tenant reads the same figure.
    expect((await call(url, 'GET', '/v1/skus/A', undefined, asOther)).body).toMatchObject({ onHand: 100, reserved: 3 });
  });

  it("when tenant B reads, confirms or releases tenant A's reservation, then it is 404 and the hold is unchanged", async () => {
    const mine = await reserve();
    expect((await call(url, 'GET', `/v1/internal/reservations/${mine.id}`, undefined, asOther)).status).toBe(404);
    for (const action of ['confirm', 'release']) {
      const res = await call(url, 'POST', `/v1/internal/reservations/${mine.id}/${action}`, undefined, { ...key(), ...asOther });
      expect([action, res.status]).toEqual([action, 404]);
    }
    const listed = await call(url, 'GET', `/v1/internal/reservations?orderId=${mine.orderId}`, undefined, asOther);
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(mine.id);
    expect((await call(url, 'GET', `/v1/internal/reservations/${mine.id}`)).body.status).toBe('held');
  });

  it('when a request carries no tenant, then reads find nothing (404) and a hold is refused with 403 DB_TENANT_REQUIRED, taking no stock', async () => {
    const mine = await reserve();
    expect((await call(url, 'GET', `/v1/internal/reservations/${mine.id}`, undefined, noTenant)).status).toBe(404);
    const before = (await call(url, 'GET', '/v1/skus/A')).body.reserved as number;
    const res = await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-nobody', items: [{ sku: 'A', quantity: 1 }] }, { ...key(), ...noTenant });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('DB_TENANT_REQUIRED');
    expect((await call(url, 'GET', '/v1/skus/A')).body.reserved).toBe(before);
  });

  it("when the sweeper expires holds of two tenants, then it releases both and files each released event under its reservation's tenant", async () => {
    const mine = await reserve();
    const theirs = await reserve(asOther);
    await env.db.query(`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])`, [[mine.id, theirs.id]]);
    while ((await app.sweeper.sweepOnce()) > 0);
    const { rows } = await env.db.query<{ order_id: string; tenant_id: string }>(`SELECT order_id, tenant_id FROM inventory_events_outbox WHERE type = 'released' AND order_id = ANY($1)`, [[mine.orderId, theirs.orderId]]);
    expect(Object.fromEntries(rows.map((r) => [r.order_id, r.tenant_id]))).toEqual({ [mine.orderId]: TEST_TENANT, [theirs.orderId]: OTHER_TENANT });
    expect((await call(url, 'GET', `/v1/internal/reservations/${theirs.id}`, undefined, asOther)).body.status).toBe('released');
    await assertStockConsistent(env.db);
  });
});
