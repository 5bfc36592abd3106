/**
 * Tenant isolation of orders (issue 25): the app connects as the runtime role,
 * every tenant table is under row-level security, requests run as the
 * gateway's verified x-auth-tenant, and the background work (projectors,
 * saga runner, rebuild) runs in the audited system context while writing
 * each row under its event's tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { withTenant } from '@bulwark/db';
import type { OrdersApp } from '../src/app.ts';
import { sharedServiceIssuer } from '../../identity/test/service-issuer.ts';
import { startInventoryStub, startPaymentsStub } from './contract-stubs.ts';
import { ADDRESS, call, OTHER_TENANT, setupOrders, TEST_TENANT, waitFor, type TestOrders } from './support.ts';

const asOther = { 'x-auth-tenant': OTHER_TENANT };
const noTenant = { 'x-auth-tenant': '' };

describe('orders tenants (row-level security)', () => {
  let t: TestOrders;
  let app: OrdersApp;
  let url: string;
  let inventory: Awaited<ReturnType<typeof startInventoryStub>>;
  let payments: Awaited<ReturnType<typeof startPaymentsStub>>;
  const seenTenants: Array<string | undefined> = [];
  const record = (_m: string, _p: string, headers: http.IncomingHttpHeaders) => void seenTenants.push(headers['x-auth-tenant'] as string | undefined);

  beforeAll(async () => {
    t = await setupOrders();
    inventory = await startInventoryStub({ onRequest: record });
    payments = await startPaymentsStub({ onRequest: record });
    await call(inventory.url, 'PUT', '/v1/skus/A', { onHand: 1_000 });
    const { ordersEnv } = await sharedServiceIssuer();
    ({ app, url } = await t.start({ env: { INVENTORY_URL: inventory.url, PAYMENTS_URL: payments.url, ...ordersEnv, SAGA_POLL_MS: '20', SAGA_RETRY_BASE_MS: '20' } }));
  });
  afterAll(async () => {
    await t.cleanup();
    await inventory.close();
    await payments.close();
  });

  const draft = async (headers: Record<string, string> = {}): Promise<string> => {
    const res = await call(url, 'POST', '/orders', { customerId: 'c-1' }, headers);
    expect(res.status).toBe(201);
    const id = res.body.order.orderId as string;
    expect((await call(url, 'POST', `/orders/${id}/items`, { sku: 'A', quantity: 1, unitPriceCents: 100 }, headers)).status).toBe(200);
    return id;
  };
  const projected = (id: string, headers: Record<string, string> = {}) => waitFor(async () => (await call(url, 'GET', `/orders/${id}`, undefined, headers)).status === 200, `order ${id} projected`);

  it("when a tenant runs a deliberately unscoped SELECT * through the app's pool, then it gets only its own rows", async () => {
    const mine = await draft();
    const theirs = await draft(asOther);
    await projected(mine);
    await projected(theirs, asOther);
    for (const table of ['events', 'streams', 'order_summaries', 'order_statuses', 'order_status_counts']) {
      const rows = (await withTenant(TEST_TENANT, () => app.pool.query<{ tenant_id: string }>(`SELECT * FROM ${table}`))).rows;
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r.tenant_id))).toEqual(new Set([TEST_TENANT]));
    }
    const streams = (await withTenant(OTHER_TENANT, () => app.pool.query<{ stream_id: string }>('SELECT * FROM streams'))).rows.map((r) => r.stream_id);
    expect(streams).toContain(theirs);
    expect(streams).not.toContain(mine);
    // The projector wrote each row under its event's tenant (it runs for every tenant).
    const { rows } = await t.db.query<{ order_id: string; tenant_id: string }>('SELECT order_id, tenant_id FROM order_summaries WHERE order_id = ANY($1)', [[mine, theirs]]);
    expect(Object.fromEntries(rows.map((r) => [r.order_id, r.tenant_id]))).toEqual({ [mine]: TEST_TENANT, [theirs]: OTHER_TENANT });
  });

  it("when tenant B reads or changes tenant A's order, then every route answers 404 and the order is unchanged", async () => {
    const id = await draft();
    await projected(id);
    for (const [method, path, body] of [
      ['GET', `/orders/${id}`, undefined],
      ['POST', `/orders/${id}/items`, { sku: 'B', quantity: 1, unitPriceCents: 1 }],
      ['PUT', `/orders/${id}/address`, { address: ADDRESS }],
      ['POST', `/orders/${id}/cancel`, { reason: 'not mine' }],
      ['POST', `/orders/${id}/checkout`, {}],
      ['GET', `/orders/${id}/checkout`, undefined],
    ] as const) {
      const res = await call(url, method, path, body, { ...asOther, 'idempotency-key': randomUUID() });
      expect([method, path, res.status, res.body?.code]).toEqual([method, path, 404, 'ORDERS_NOT_FOUND']);
    }
    const list = await call(url, 'GET', '/customers/c-1/orders', undefined, asOther);
    expect(list.body.orders.map((o: { orderId: string }) => o.orderId)).not.toContain(id);
    // The status counts are their own projection: wait until they count every draft of this tenant that order_summaries holds.
    const drafts = async (): Promise<number> => (await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM order_summaries WHERE tenant_id = $1 AND status = 'draft'", [TEST_TENANT])).rows[0]!.n;
    await waitFor(async () => Number((await call(url, 'GET', '/order-stats/status-counts')).body.counts?.draft ?? 0) === (await drafts()), 'status counts projected');
    const stats = await call(url, 'GET', '/order-stats/status-counts', undefined, asOther);
    const mine = await call(url, 'GET', '/order-stats/status-counts');
    expect(stats.body.counts).not.toEqual(mine.body.counts);
    const { rows } = await t.db.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY version', [id]);
    expect(rows.map((r) => r.type)).toEqual(['OrderCreated', 'ItemAdded']);
  });

  it('when a request carries no tenant, then reads find nothing (404) and writes are refused with 403 DB_TENANT_REQUIRED', async () => {
    const id = await draft();
    await projected(id);
    expect((await call(url, 'GET', `/orders/${id}`, undefined, noTenant)).status).toBe(404);
    const created = await call(url, 'POST', '/orders', { customerId: 'c-1' }, noTenant);
    expect(created.status).toBe(403);
    expect(created.headers.get('content-type')).toContain('application/problem+json');
    expect(created.body.code).toBe('DB_TENANT_REQUIRED');
    const malformed = await call(url, 'GET', `/orders/${id}`, undefined, { 'x-auth-tenant': "a'; DROP TABLE events; --" });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('DB_TENANT_INVALID');
  });

  it("when a checkout runs, then the saga is claimed for every tenant but driven as its order's tenant: inventory and payments get x-auth-tenant", async () => {
    const id = await draft(asOther);
    expect((await call(url, 'PUT', `/orders/${id}/address`, { address: ADDRESS }, asOther)).status).toBe(200);
    seenTenants.length = 0;
    expect((await call(url, 'POST', `/orders/${id}/checkout`, {}, { ...asOther, 'idempotency-key': randomUUID() })).status).toBe(202);
    await waitFor(async () => (await call(url, 'GET', `/orders/${id}/checkout`, undefined, asOther)).body?.status === 'completed', 'checkout completed');
    expect(seenTenants.length).toBeGreaterThan(0);
    expect(new Set(seenTenants)).toEqual(new Set([OTHER_TENANT]));
    const { rows } = await t.db.query<{ tenant_id: string }>('SELECT DISTINCT s.tenant_id FROM checkout_saga_steps s JOIN checkout_sagas c USING (saga_id) WHERE c.order_id = $1', [id]);
    expect(rows).toEqual([{ tenant_id: OTHER_TENANT }]);
  });

  it('when a projection is rebuilt, then the swapped-in tables keep row-level security and the runtime role can still use them', async () => {
    const mine = await draft();
    const theirs = await draft(asOther);
    await projected(mine);
    await projected(theirs, asOther);
    for (const name of ['order-summaries', 'order-status-counts']) expect((await call(url, 'POST', `/projections/${name}/rebuild`)).status).toBe(200);
    expect((await call(url, 'GET', `/orders/${mine}`)).status).toBe(200);
    expect((await call(url, 'GET', `/orders/${theirs}`)).status).toBe(404);
    expect((await call(url, 'GET', `/orders/${theirs}`, undefined, asOther)).status).toBe(200);
    const { rows } = await t.db.query<{ relname: string; force: boolean; policies: number }>(
      `SELECT c.relname, c.relforcerowsecurity AS force, (SELECT count(*)::int FROM pg_policies p WHERE p.schemaname = current_schema() AND p.tablename = c.relname) AS policies
       FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relname IN ('order_summaries', 'order_statuses', 'order_status_counts') ORDER BY 1`,
    );
    expect(rows).toEqual(['order_status_counts', 'order_statuses', 'order_summaries'].map((relname) => ({ relname, force: true, policies: 3 })));
  });
});
