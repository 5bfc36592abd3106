import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { MAX_PAYMENT_AMOUNT } from '../src/domain/payment-rules.ts';
import { MAX_INTENT_AMOUNT } from '../src/psp/intent.ts';
import { reconcile } from '../src/store/payments-store.ts';
import { call, pspState, setKnobs, setupPayments, webhooksSettled, type TestPayments } from './support.ts';

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

const pay = (key: string, body: unknown, headers: Record<string, string> = {}) => call(url, 'POST', '/v1/payments', body, { 'idempotency-key': key, ...headers });

describe('authorizing a payment', () => {
  it('when the same payment request is sent 20 times concurrently with one key, then one authorization at the PSP and 19 replays of the same response', async () => {
    const orderId = `o-${randomUUID()}`;
    const key = `${randomUUID()}:authorize`;
    const replies = await Promise.all(Array.from({ length: 20 }, () => pay(key, { orderId, amount: 4200, currency: 'EUR' })));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(201));
    const fresh = replies.filter((r) => r.headers.get('idempotent-replayed') !== 'true');
    expect(fresh).toHaveLength(1);
    for (const r of replies) expect(r.body).toEqual(fresh[0]!.body);
    expect(fresh[0]!.body).toMatchObject({ orderId, status: 'authorized', amount: 4200, currency: 'EUR' });
    const intents = (await call(psp, 'GET', `/v1/payment_intents?orderId=${orderId}`)).body.data;
    expect(intents).toHaveLength(1);
    expect((await pspState(psp)).counters.authorizations).toBe(1);
    expect((await t.db.query('SELECT count(*)::int AS n FROM payments')).rows[0]!.n).toBe(1);
    const list = await call(url, 'GET', `/v1/payments?orderId=${orderId}`);
    expect(list.body.payments).toHaveLength(1);
    expect(list.body.payments[0]).toMatchObject({ id: fresh[0]!.body.id, status: 'authorized', pspIntentId: intents[0].id });
  });

  it('when the PSP declines, then 402 payment-declined, the payment is recorded declined, no money moves, and a retry replays the decline', async () => {
    const orderId = `o-${randomUUID()}`;
    const key = randomUUID();
    const r = await pay(key, { orderId, amount: 999, currency: 'USD' }, { 'psp-simulate': 'decline' });
    expect(r.status).toBe(402);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body).toMatchObject({ type: 'https://bulwark.dev/problems/payment-declined', status: 402, orderId, declineCode: 'card_declined' });
    const again = await pay(key, { orderId, amount: 999, currency: 'USD' });
    expect(again.status).toBe(402);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const payment = await call(url, 'GET', `/v1/payments/${r.body.paymentId}`);
    expect(payment.body).toMatchObject({ status: 'declined', declineCode: 'card_declined', amountCaptured: 0 });
    const capture = await call(url, 'POST', `/v1/payments/${r.body.paymentId}/capture`, {}, { 'idempotency-key': randomUUID() });
    expect(capture.status).toBe(409);
    expect((await t.db.query('SELECT count(*)::int AS n FROM ledger_entries')).rows[0]!.n).toBe(0);
    expect((await pspState(psp)).counters).toMatchObject({ authorizations: 0, declines: 1, captures: 0 });
  });

  it('when the PSP times out, then 504 with nothing recorded, and the retry with the same key gets the original authorization (no double charge)', async () => {
    const orderId = `o-${randomUUID()}`;
    const key = randomUUID();
    await setKnobs(psp, { timeoutRate: 1 });
    const first = await pay(key, { orderId, amount: 1500, currency: 'EUR' });
    expect(first.status).toBe(504);
    expect(first.body).toMatchObject({ type: 'https://bulwark.dev/problems/payments-psp-timeout', status: 504 });
    expect((await call(url, 'GET', `/v1/payments?orderId=${orderId}`)).body.payments).toEqual([]);
    // The PSP did authorize: a real timeout leaves the caller not knowing.
    expect((await call(psp, 'GET', `/v1/payment_intents?orderId=${orderId}`)).body.data).toHaveLength(1);
    const retry = await pay(key, { orderId, amount: 1500, currency: 'EUR' }); // the PSP replays its stored answer at once
    expect(retry.status).toBe(201);
    expect((await call(psp, 'GET', `/v1/payment_intents?orderId=${orderId}`)).body.data).toHaveLength(1);
    expect((await pspState(psp)).counters.authorizations).toBe(1);

    const captureKey = randomUUID();
    const c1 = await call(url, 'POST', `/v1/payments/${retry.body.id}/capture`, {}, { 'idempotency-key': captureKey });
    expect(c1.status).toBe(504);
    await setKnobs(psp, { timeoutRate: 0 });
    const c2 = await call(url, 'POST', `/v1/payments/${retry.body.id}/capture`, {}, { 'idempotency-key': captureKey });
    expect(c2.status).toBe(200);
    expect(c2.body).toMatchObject({ status: 'captured', amountCaptured: 1500 });
    const c3 = await call(url, 'POST', `/v1/payments/${retry.body.id}/capture`, {}, { 'idempotency-key': captureKey });
    expect(c3.status).toBe(200);
    expect(c3.headers.get('idempotent-replayed')).toBe('true');
    expect((await pspState(psp)).counters.captures).toBe(1);
    await webhooksSettled(psp);
    const ledger = await t.db.query(`SELECT account, amount::int AS amount FROM ledger_entries ORDER BY account`);
    expect(ledger.rows).toEqual([
      { account: 'psp_receivable', amount: 1500 },
      { account: 'sales', amount: -1500 },
    ]);
    expect(await reconcile(t.db)).toMatchObject({ ok: true, receivable: 1500, capturedMinusRefunded: 1500, ledgerTotal: 0 });
  });

  it('when the amount is the PSP limit, then it is authorized and captured end to end; one more is 400 problem+json with nothing stored or sent to the PSP', async () => {
    expect(MAX_PAYMENT_AMOUNT).toBe(MAX_INTENT_AMOUNT); // one contract from the schema to the PSP
    const max = MAX_PAYMENT_AMOUNT;
    const orderId = `o-${randomUUID()}`;
    const ok = await pay(randomUUID(), { orderId, amount: max, currency: 'EUR' });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ orderId, status: 'authorized', amount: max });
    expect((await call(psp, 'GET', `/v1/payment_intents/${ok.body.pspIntentId}`)).body).toMatchObject({ amount: max, status: 'authorized' });
    const tooMuchCapture = await call(url, 'POST', `/v1/payments/${ok.body.id}/capture`, { amount: max + 1 }, { 'idempotency-key': randomUUID() });
    expect([tooMuchCapture.status, tooMuchCapture.body.code]).toEqual([400, 'REQUEST_VALIDATION_FAILED']);
    const capture = await call(url, 'POST', `/v1/payments/${ok.body.id}/capture`, { amount: max }, { 'idempotency-key': randomUUID() });
    expect(capture.body).toMatchObject({ status: 'captured', amountCaptured: max });
    const tooMuchRefund = await call(url, 'POST', `/v1/payments/${ok.body.id}/refund`, { amount: max + 1 }, { 'idempotency-key': randomUUID() });
    expect([tooMuchRefund.status, tooMuchRefund.body.code]).toEqual([400, 'REQUEST_VALIDATION_FAILED']);

    const over = `o-${randomUUID()}`;
    const refused = await pay(randomUUID(), { orderId: over, amount: max + 1, currency: 'EUR' });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(refused.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', status: 400 });
    expect((await t.db.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [over])).rows[0]!.n).toBe(0);
    expect((await call(psp, 'GET', `/v1/payment_intents?orderId=${over}`)).body.data).toEqual([]);
    expect((await pspState(psp)).counters).toMatchObject({ authorizations: 1, declines: 0, captures: 1, refunds: 0 });
    await webhooksSettled(psp);
    expect(await reconcile(t.db)).toMatchObject({ ok: true, ledgerTotal: 0 });
  });
});
