import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SIGNATURE_HEADER, signatureHeader } from '@bulwark/webhook-signature';
import { reconcile } from '../src/store/payments-store.ts';
import { call, pspState, SECRET_NEW, SECRET_OLD, setKnobs, setupPayments, webhooksSettled, type TestPayments } from './support.ts';

let t: TestPayments;
let url: string;
let psp: string;

beforeEach(async () => {
  t = await setupPayments();
  psp = (await t.startPsp()).url;
  url = (await t.startApp()).url;
});
afterEach(async () => {
  await t.cleanup();
});

const key = () => ({ 'idempotency-key': randomUUID() });

async function authorized(amount = 1000, simulate?: string): Promise<{ id: string; orderId: string; pspIntentId: string }> {
  const orderId = `o-${randomUUID()}`;
  const r = await call(url, 'POST', '/v1/payments', { orderId, amount, currency: 'EUR' }, { ...key(), ...(simulate ? { 'psp-simulate': simulate } : {}) });
  expect(r.status).toBe(201);
  return r.body;
}

function post(body: string, signature: string | undefined): Promise<Response> {
  return fetch(`${url}/v1/psp/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { [SIGNATURE_HEADER]: signature }) }, body });
}

/** An event as the PSP would send it for `intent` after `transition`. */
function event(intent: Record<string, unknown>, transition: { kind: string; amount: number; version: number }, patch: Record<string, unknown>) {
  const object = { ...intent, ...patch, version: transition.version, lastTransition: transition };
  return JSON.stringify({ id: `evt_${randomUUID()}`, type: `payment_intent.${transition.kind}`, created: Math.floor(Date.now() / 1000), data: { object, transition } });
}

describe('PSP webhooks', () => {
  it('when the signature is forged, stale, from the future, malformed or missing, then 401 problem with the reason and nothing applied', async () => {
    const p = await authorized();
    await webhooksSettled(psp);
    const intent = (await call(psp, 'GET', `/v1/payment_intents/${p.pspIntentId}`)).body;
    const body = event(intent, { kind: 'voided', amount: 0, version: 2 }, { status: 'voided' });
    const now = Math.floor(Date.now() / 1000);
    const cases: [string | undefined, string][] = [
      [signatureHeader(body, ['whsec_forged_000000000000']), 'mismatch'],
      [signatureHeader(body, [SECRET_OLD], now - 3600), 'stale'],
      [signatureHeader(body, [SECRET_OLD], now + 3600), 'future'],
      ['v1=deadbeef', 'malformed'],
      [undefined, 'missing'],
      [signatureHeader(`${body} `, [SECRET_OLD]), 'mismatch'], // signed bytes differ from the sent ones
    ];
    for (const [signature, reason] of cases) {
      const res = await post(body, signature);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(await res.json()).toMatchObject({ type: 'https://bulwark.dev/problems/webhook-signature-invalid', reason });
    }
    expect((await call(url, 'GET', `/v1/payments/${p.id}`)).body.status).toBe('authorized');
    expect((await t.db.query(`SELECT count(*)::int AS n FROM psp_webhook_events WHERE type = 'payment_intent.voided'`)).rows[0]!.n).toBe(0);
  });

  it('when the secret rotates, then events signed by the new, the old or both active secrets are accepted', async () => {
    const p = await authorized();
    await webhooksSettled(psp);
    // The PSP signs with the new secret only now; the receiver holds both.
    await setKnobs(psp, { webhookSecrets: [SECRET_NEW] });
    const capture = await call(url, 'POST', `/v1/payments/${p.id}/capture`, { amount: 600 }, key());
    expect(capture.status).toBe(200);
    await webhooksSettled(psp);
    expect((await pspState(psp)).webhooks.gaveUp).toBe(0);
    // Never on the signature (an event racing its authorization's commit is acknowledged as unknown_intent, not refused).
    expect(await (await fetch(`${url}/metrics`)).text()).not.toMatch(/payments_webhooks_total\{[^}]*outcome="bad_signature"/);
    expect((await t.db.query(`SELECT count(*)::int AS n FROM psp_webhook_events WHERE type = 'payment_intent.captured'`)).rows[0]!.n).toBe(1);
    const intent = (await call(psp, 'GET', `/v1/payment_intents/${p.pspIntentId}`)).body;
    const both = event(intent, { kind: 'refunded', amount: 100, version: 3 }, { status: 'partially_refunded', amountRefunded: 100 });
    expect((await post(both, signatureHeader(both, [SECRET_NEW, SECRET_OLD]))).status).toBe(200);
    const oldOnly = event(intent, { kind: 'refunded', amount: 100, version: 4 }, { status: 'partially_refunded', amountRefunded: 200 });
    expect((await post(oldOnly, signatureHeader(oldOnly, [SECRET_OLD]))).status).toBe(200);
  });

  it('when events arrive out of order and duplicated, then the payment only moves forward and the ledger posts each transition once', async () => {
    const p = await authorized(1000);
    await webhooksSettled(psp);
    const intent = (await call(psp, 'GET', `/v1/payment_intents/${p.pspIntentId}`)).body;
    const captured = event(intent, { kind: 'captured', amount: 1000, version: 2 }, { status: 'captured', amountCaptured: 1000 });
    const refunded = event(intent, { kind: 'refunded', amount: 400, version: 3 }, { status: 'partially_refunded', amountCaptured: 1000, amountRefunded: 400 });
    const send = async (b: string) => (await (await post(b, signatureHeader(b, [SECRET_OLD]))).json()) as { outcome: string };
    expect((await send(refunded)).outcome).toBe('applied');
    expect((await send(captured)).outcome).toBe('stale');
    expect((await send(refunded)).outcome).toBe('duplicate');
    expect((await send(captured)).outcome).toBe('duplicate');
    const payment = (await call(url, 'GET', `/v1/payments/${p.id}`)).body;
    expect(payment).toMatchObject({ status: 'partially_refunded', pspVersion: 3, amountCaptured: 1000, amountRefunded: 400 });
    const ledger = await t.db.query(`SELECT kind, account, amount::int AS amount FROM ledger_entries ORDER BY psp_version, account`);
    expect(ledger.rows).toEqual([
      { kind: 'capture', account: 'psp_receivable', amount: 1000 },
      { kind: 'capture', account: 'sales', amount: -1000 },
      { kind: 'refund', account: 'psp_receivable', amount: -400 },
      { kind: 'refund', account: 'sales', amount: 400 },
    ]);
    expect(await reconcile(t.db)).toMatchObject({ ok: true, receivable: 600 });
  });

  it('when the PSP delivers every webhook twice and out of order, then every payment ends in the PSP state and reconciles', async () => {
    await setKnobs(psp, { duplicateWebhookRate: 1 });
    // Each authorization's event is held back until the payment's next event has gone out.
    const payments = await Promise.all(Array.from({ length: 8 }, () => authorized(1000, 'out-of-order')));
    for (const [i, p] of payments.entries()) {
      if (i % 4 === 0) {
        expect((await call(url, 'POST', `/v1/payments/${p.id}/void`, {}, key())).status).toBe(200);
        continue;
      }
      expect((await call(url, 'POST', `/v1/payments/${p.id}/capture`, {}, key())).status).toBe(200);
      if (i % 2 === 0) expect((await call(url, 'POST', `/v1/payments/${p.id}/refund`, { amount: 250 }, key())).status).toBe(200);
      if (i % 3 === 0) expect((await call(url, 'POST', `/v1/payments/${p.id}/refund`, {}, key())).status).toBe(200);
    }
    await webhooksSettled(psp);
    const s = await pspState(psp);
    expect(s.webhooks.gaveUp).toBe(0);
    const events = (await t.db.query(`SELECT count(*)::int AS n FROM psp_webhook_events`)).rows[0]!.n;
    const transitions = s.counters.authorizations! + s.counters.captures! + s.counters.voids! + s.counters.refunds!;
    expect(events).toBe(transitions); // every event once, though each was delivered twice
    expect(s.webhooks.delivered).toBe(2 * transitions);
    for (const p of payments) {
      const mine = (await call(url, 'GET', `/v1/payments/${p.id}`)).body;
      const theirs = (await call(psp, 'GET', `/v1/payment_intents/${p.pspIntentId}`)).body;
      expect({ status: mine.status, version: mine.pspVersion, captured: mine.amountCaptured, refunded: mine.amountRefunded }).toEqual({
        status: theirs.status,
        version: theirs.version,
        captured: theirs.amountCaptured,
        refunded: theirs.amountRefunded,
      });
    }
    expect((await reconcile(t.db)).ok).toBe(true);
  });
});
