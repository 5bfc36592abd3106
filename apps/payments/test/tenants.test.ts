/**
 * Tenant isolation of payments (issue 25): the service connects as the
 * runtime role, payments, operations, ledger and outbox are under row-level
 * security, requests run as x-auth-tenant, and the PSP's webhooks (which name
 * no tenant) are applied as the tenant of the payment they are about.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { withTenant } from '@bulwark/db';
import type { PaymentsApp } from '../src/app.ts';
import { call, OTHER_TENANT, setupPayments, TEST_TENANT, waitFor, webhooksSettled, type TestPayments } from './support.ts';

const asOther = { 'x-auth-tenant': OTHER_TENANT };
const noTenant = { 'x-auth-tenant': '' };

describe('payments tenants (row-level security)', () => {
  let t: TestPayments;
  let app: PaymentsApp;
  let url: string;
  let psp: string;

  beforeAll(async () => {
    t = await setupPayments();
    psp = (await t.startPsp()).url;
    ({ app, url } = await t.startApp());
  });
  afterAll(() => t.cleanup());

  const authorize = async (headers: Record<string, string> = {}) => {
    const res = await call(url, 'POST', '/v1/payments', { orderId: `o-${randomUUID()}`, amount: 1234, currency: 'EUR' }, { 'idempotency-key': randomUUID(), ...headers });
    expect(res.status).toBe(201);
    return res.body as { id: string; orderId: string; pspIntentId: string };
  };

  it("when a tenant runs a deliberately unscoped SELECT * through the app's pool, then it gets only its own payments, ledger rows and outbox events", async () => {
    const mine = await authorize();
    const theirs = await authorize(asOther);
    for (const p of [[mine, {}], [theirs, asOther]] as const) {
      expect((await call(url, 'POST', `/v1/payments/${p[0].id}/capture`, {}, { 'idempotency-key': randomUUID(), ...p[1] })).status).toBe(200);
    }
    await webhooksSettled(psp);
    for (const table of ['payments', 'payment_operations', 'ledger_entries', 'payment_events_outbox']) {
      const rows = (await withTenant(TEST_TENANT, () => app.pool.query<{ tenant_id: string; payment_id?: string; id: string }>(`SELECT * FROM ${table}`))).rows;
      expect([table, rows.length > 0]).toEqual([table, true]);
      expect([table, new Set(rows.map((r) => r.tenant_id))]).toEqual([table, new Set([TEST_TENANT])]);
    }
    const ids = (await withTenant(OTHER_TENANT, () => app.pool.query<{ id: string }>('SELECT * FROM payments'))).rows.map((r) => r.id);
    expect(ids).toContain(theirs.id);
    expect(ids).not.toContain(mine.id);
  });

  it("when tenant B reads or changes tenant A's payment, then it is 404 and nothing moves", async () => {
    const mine = await authorize();
    expect((await call(url, 'GET', `/v1/payments/${mine.id}`, undefined, asOther)).status).toBe(404);
    for (const action of ['capture', 'void', 'refund']) {
      const res = await call(url, 'POST', `/v1/payments/${mine.id}/${action}`, {}, { 'idempotency-key': randomUUID(), ...asOther });
      expect([action, res.status]).toEqual([action, 404]);
    }
    expect((await call(url, 'GET', `/v1/payments?orderId=${mine.orderId}`, undefined, asOther)).body.payments).toEqual([]);
    expect((await call(url, 'GET', `/v1/payments/${mine.id}`)).body).toMatchObject({ status: 'authorized', amountCaptured: 0 });
  });

  it('when two tenants send the same Idempotency-Key, then each gets its own payment and operation, and neither is refused nor replayed the other', async () => {
    const key = `shared-${randomUUID()}`;
    const body = { orderId: `o-${randomUUID()}`, amount: 700, currency: 'EUR' };
    const mine = await call(url, 'POST', '/v1/payments', body, { 'idempotency-key': key });
    const theirs = await call(url, 'POST', '/v1/payments', body, { 'idempotency-key': key, ...asOther });
    expect({ status: theirs.status, body: theirs.body }).toEqual({ status: 201, body: expect.anything() });
    expect(mine.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
    const opKey = `op-${randomUUID()}`;
    expect((await call(url, 'POST', `/v1/payments/${mine.body.id}/capture`, {}, { 'idempotency-key': opKey })).status).toBe(200);
    expect((await call(url, 'POST', `/v1/payments/${theirs.body.id}/capture`, {}, { 'idempotency-key': opKey, ...asOther })).status).toBe(200);
    // A retry by each tenant replays its own.
    expect((await call(url, 'POST', '/v1/payments', body, { 'idempotency-key': key, ...asOther })).body.id).toBe(theirs.body.id);
  });

  it('when a request carries no tenant, then reads find nothing (404) and a payment is refused with 403 DB_TENANT_REQUIRED', async () => {
    const mine = await authorize();
    expect((await call(url, 'GET', `/v1/payments/${mine.id}`, undefined, noTenant)).status).toBe(404);
    const res = await call(url, 'POST', '/v1/payments', { orderId: `o-${randomUUID()}`, amount: 1, currency: 'EUR' }, { 'idempotency-key': randomUUID(), ...noTenant });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('DB_TENANT_REQUIRED');
  });

  it("when the PSP reports a capture made at the PSP itself (a webhook, no tenant), then it is applied as the payment's tenant: status, ledger and outbox under that tenant", async () => {
    const theirs = await authorize(asOther);
    await webhooksSettled(psp);
    const captured = await call(psp, 'POST', `/v1/payment_intents/${theirs.pspIntentId}/capture`, { amount: 1234 }, { 'idempotency-key': randomUUID() });
    expect(captured.status).toBe(200);
    await waitFor(async () => (await call(url, 'GET', `/v1/payments/${theirs.id}`, undefined, asOther)).body?.status === 'captured', 'the webhook applied');
    const { rows } = await t.db.query<{ t: string; n: number }>(
      `SELECT tenant_id AS t, count(*)::int AS n FROM (SELECT tenant_id FROM ledger_entries WHERE payment_id = $1 UNION ALL SELECT tenant_id FROM payment_events_outbox WHERE payment_id = $1 AND type = 'captured') x GROUP BY 1`,
      [theirs.id],
    );
    expect(rows).toEqual([{ t: OTHER_TENANT, n: 3 }]);
  });
});
