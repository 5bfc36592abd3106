import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Counter, Registry } from 'prom-client';
import type { PaymentsApp } from '../src/app.ts';
import { scrapeValue } from '@bulwark/test-support';
import { createOrphanReconciler } from '../src/domain/orphan-authorizations.ts';
import { call, pspState, setupPayments, waitFor, webhooksSettled, type TestPayments } from './support.ts';

let t: TestPayments;
let app: PaymentsApp;
let url: string;
let psp: string;

beforeEach(async () => {
  t = await setupPayments();
  psp = (await t.startPsp()).url;
  ({ app, url } = await t.startApp({ ORPHAN_RECONCILE_INTERVAL_MS: '0', ORPHAN_GRACE_MS: '0' }));
});
afterEach(async () => {
  await t.cleanup();
});

const pay = (key: string, orderId: string, headers: Record<string, string> = {}) => call(url, 'POST', '/v1/payments', { orderId, amount: 1234, currency: 'EUR' }, { 'idempotency-key': key, ...headers });

/** An authorization at the PSP whose payments transaction rolled back (PSP timeout) and whose key is never retried. */
async function orphanAuthorization(): Promise<{ key: string; orderId: string; intentId: string }> {
  const orderId = `o-${randomUUID()}`;
  const key = randomUUID();
  expect((await pay(key, orderId, { 'psp-simulate': 'timeout' })).status).toBe(504);
  const intents = (await call(psp, 'GET', `/v1/payment_intents?orderId=${orderId}`)).body.data;
  expect(intents).toHaveLength(1);
  expect((await t.db.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [orderId])).rows[0]!.n).toBe(0);
  return { key, orderId, intentId: intents[0].id };
}

const metric = (name: string, label = ''): Promise<number> => scrapeValue(url, name, label);

describe('orphan authorizations', () => {
  it('when an authorization has no payment row, then a pass voids it at the PSP, counts and records it, leaves owned ones alone, and a late retry of its key is refused', async () => {
    const owned = (await pay(randomUUID(), `o-${randomUUID()}`)).body;
    const orphan = await orphanAuthorization();

    const pass = await app.orphans.reconcileOnce();
    expect(pass).toEqual({ ran: true, unowned: 1, voided: [orphan.intentId] });
    expect((await call(psp, 'GET', `/v1/payment_intents/${orphan.intentId}`)).body.status).toBe('voided');
    expect((await call(psp, 'GET', `/v1/payment_intents/${owned.pspIntentId}`)).body.status).toBe('authorized');
    expect((await call(url, 'GET', `/v1/payments/${owned.id}`)).body.status).toBe('authorized');
    expect(await metric('payments_orphan_authorizations_voided_total')).toBe(1);
    expect((await t.db.query('SELECT order_id, amount::int AS amount FROM psp_orphan_voids WHERE psp_intent_id = $1', [orphan.intentId])).rows).toEqual([{ order_id: orphan.orderId, amount: 1234 }]);
    expect(await app.orphans.reconcileOnce()).toEqual({ ran: true, unowned: 0, voided: [] });

    // The client comes back with the key after all: the PSP replays its (now voided) authorization.
    const late = await pay(orphan.key, orphan.orderId);
    expect([late.status, late.body.code]).toEqual([409, 'PAYMENTS_AUTHORIZATION_VOIDED']);
    expect((await t.db.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [orphan.orderId])).rows[0]!.n).toBe(0);
  });

  it('when the PSP sends webhooks for an intent no payment owns, then they are acknowledged (200 unknown_intent), counted, and the PSP does not retry', async () => {
    const orphan = await orphanAuthorization();
    await app.orphans.reconcileOnce(); // a voided event follows the authorized one
    await webhooksSettled(psp);
    await waitFor(async () => (await metric('payments_webhooks_total', 'outcome="unknown_intent"')) >= 2, 'both events acknowledged');
    expect((await pspState(psp)).webhooks).toMatchObject({ failedAttempts: 0, gaveUp: 0 });
    expect((await t.db.query('SELECT count(*)::int AS n FROM psp_webhook_events')).rows[0]!.n).toBe(0);
    expect((await call(psp, 'GET', `/v1/payment_intents/${orphan.intentId}`)).body.status).toBe('voided');
  });

  it('when another replica holds the pass lock, then this pass skips; when an orphan is younger than the grace period (local clock), then it is only voided once the grace has passed', async () => {
    const orphan = await orphanAuthorization();
    const holder = await t.db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`payments.orphan-authorizations:${t.schema}`]);
      expect(await app.orphans.reconcileOnce()).toEqual({ ran: false, unowned: 0, voided: [] });
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }

    let clock = 0;
    const registry = new Registry();
    const graced = createOrphanReconciler({
      pool: app.pool,
      psp: app.psp,
      lockName: `payments.orphan-authorizations:${t.schema}`,
      graceMs: 60_000,
      batchSize: 10,
      intervalMs: 60_000,
      log: { info() {}, warn() {}, error() {} },
      voided: new Counter({ name: 'v', help: 'v', registers: [registry] }),
      passes: new Counter({ name: 'p', help: 'p', labelNames: ['outcome'], registers: [registry] }),
      now: () => clock,
      wallClock: () => Date.now() + 120_000, // the PSP's createdAt only narrows the list: let it through
    });
    expect(await graced.reconcileOnce()).toEqual({ ran: true, unowned: 1, voided: [] }); // first seen now
    clock = 59_999;
    expect((await graced.reconcileOnce()).voided).toEqual([]);
    clock = 60_000;
    expect((await graced.reconcileOnce()).voided).toEqual([orphan.intentId]);
  });
});
