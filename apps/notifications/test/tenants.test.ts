/**
 * Tenant isolation of notifications (issue 25): the service connects as the
 * runtime role; endpoints, their secrets, deliveries with their attempts,
 * messages and the event log are under row-level security; a request runs as
 * the tenant of its /v1/tenants/{tenantId} path, the webhook worker as the
 * tenant of its delivery, the dispatcher across tenants in the system context.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createPool, withTenant } from '@bulwark/db';
import { OTHER_TENANT, TEST_TENANT } from '@bulwark/test-support';
import type { NotificationsApp } from '../src/app.ts';
import { call, Receiver, setupNotifications, silent, waitFor, type TestNotifications } from './support.ts';

const TENANT_TABLES = ['endpoints', 'endpoint_secrets', 'deliveries', 'delivery_attempts', 'messages', 'events'];

describe('notifications tenants (row-level security)', () => {
  let t: TestNotifications;
  let app: NotificationsApp;
  let url: string;
  let receiver: Receiver;
  const ids: Record<string, { endpoint: string; delivery: string; message: string }> = {};

  beforeAll(async () => {
    receiver = await new Receiver().start();
    t = await setupNotifications();
    ({ app, url } = await t.startApp());
    // Each tenant: an endpoint, an event delivered to it (worker + dispatcher) and a queued email.
    for (const tenant of [TEST_TENANT, OTHER_TENANT]) {
      const e = await call(url, 'POST', `/v1/tenants/${tenant}/endpoints`, { url: `${receiver.url}/${tenant}`, eventTypes: ['*'] });
      expect(e.status).toBe(201);
      const published = await call(url, 'POST', `/v1/tenants/${tenant}/events`, { type: 'order.confirmed', data: { tenant } });
      expect(published.status).toBeLessThan(300);
      const m = await call(url, 'POST', `/v1/tenants/${tenant}/messages`, { channel: 'sms', to: '+15550100', template: 'verification-code', vars: { code: '123456', minutes: 5 } });
      expect(m.status).toBeLessThan(300);
      await waitFor(async () => (await call(url, 'GET', `/v1/tenants/${tenant}/deliveries`)).body.deliveries?.[0]?.status === 'succeeded', `${tenant}'s delivery succeeded`);
      const deliveries = await call(url, 'GET', `/v1/tenants/${tenant}/deliveries`);
      ids[tenant] = { endpoint: e.body.endpoint.id, delivery: deliveries.body.deliveries[0].id, message: m.body.id };
    }
  });
  afterAll(async () => {
    await t?.cleanup();
    await receiver?.stop();
  });

  it("when a tenant runs a deliberately unscoped SELECT * through the app's pool, then every tenant table gives only its rows", async () => {
    for (const [tenant, other] of [
      [TEST_TENANT, OTHER_TENANT],
      [OTHER_TENANT, TEST_TENANT],
    ] as const) {
      for (const table of TENANT_TABLES) {
        const rows = (await withTenant(tenant, () => app.pool.query<{ tenant_id: string }>(`SELECT * FROM ${table}`))).rows;
        expect([tenant, table, rows.length > 0]).toEqual([tenant, table, true]);
        expect([tenant, table, new Set(rows.map((r) => r.tenant_id))]).toEqual([tenant, table, new Set([tenant])]);
      }
      const endpointIds = (await withTenant(tenant, () => app.pool.query<{ id: string }>('SELECT * FROM endpoints'))).rows.map((r) => r.id);
      expect(endpointIds).toEqual([ids[tenant]!.endpoint]);
      expect(endpointIds).not.toContain(ids[other]!.endpoint);
    }
  });

  it('when a statement runs with no tenant context, then tenant tables show nothing and refuse writes', async () => {
    for (const table of TENANT_TABLES) {
      expect([table, (await app.pool.query(`SELECT * FROM ${table}`)).rowCount]).toEqual([table, 0]);
    }
    await expect(app.pool.query(`INSERT INTO endpoints (id, tenant_id, url, event_types) VALUES (gen_random_uuid(), 'x', 'http://127.0.0.1:9/', '{*}')`)).rejects.toMatchObject({ code: 'DB_TENANT_REQUIRED' });
    // The admin (owner) still sees both tenants' rows: they are there, only hidden.
    expect((await t.db.query<{ n: number }>('SELECT count(DISTINCT tenant_id)::int AS n FROM deliveries')).rows[0]!.n).toBe(2);
  });

  it('when one pooled connection serves tenant A and then tenant B, then B never sees A’s rows', async () => {
    const one = createPool({ connectionString: t.env().DATABASE_URL!, name: `notifications_one_${t.id}`, max: 1, searchPath: [t.schema], registry: new Registry(), log: silent });
    try {
      for (let round = 0; round < 3; round++) {
        for (const tenant of [TEST_TENANT, OTHER_TENANT]) {
          const seen = await withTenant(tenant, () => one.query<{ tenant_id: string }>('SELECT tenant_id FROM deliveries'));
          expect(new Set(seen.rows.map((r) => r.tenant_id))).toEqual(new Set([tenant]));
        }
        expect((await one.query('SELECT * FROM deliveries')).rowCount).toBe(0);
      }
    } finally {
      await one.close();
    }
  });

  it("when tenant B asks for tenant A's endpoint, delivery or message through the API, then it is 404 and A's rows are unchanged", async () => {
    const a = ids[TEST_TENANT]!;
    const asB = `/v1/tenants/${OTHER_TENANT}`;
    expect((await call(url, 'GET', `${asB}/endpoints/${a.endpoint}`)).status).toBe(404);
    expect((await call(url, 'PATCH', `${asB}/endpoints/${a.endpoint}`, { description: 'taken over' })).status).toBe(404);
    expect((await call(url, 'POST', `${asB}/endpoints/${a.endpoint}/disable`)).status).toBe(404);
    expect((await call(url, 'POST', `${asB}/endpoints/${a.endpoint}/rotate-secret`, {})).status).toBe(404);
    expect((await call(url, 'GET', `${asB}/deliveries/${a.delivery}`)).status).toBe(404);
    expect((await call(url, 'POST', `${asB}/deliveries/${a.delivery}/replay`)).status).toBe(404);
    expect((await call(url, 'GET', `${asB}/messages/${a.message}`)).status).toBe(404);
    const listed = await call(url, 'GET', `${asB}/deliveries`);
    expect(JSON.stringify(listed.body)).not.toContain(a.delivery);
    const mine = await call(url, 'GET', `/v1/tenants/${TEST_TENANT}/endpoints/${a.endpoint}`);
    expect(mine.body).toMatchObject({ status: 'active', description: '' });
  });
});
