import { afterEach, beforeAll, afterAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { reconcile } from '../src/store/payments-store.ts';
import { call, pspState, setupPayments, webhooksSettled, type TestPayments } from './support.ts';

let t: TestPayments;
let url: string;
let psp: string;

beforeAll(async () => {
  t = await setupPayments();
  psp = (await t.startPsp()).url;
  url = (await t.startApp()).url;
});
afterAll(async () => {
  await t.cleanup();
});
afterEach(async () => {
  await webhooksSettled(psp);
});

const key = () => ({ 'idempotency-key': randomUUID() });
const count = async (table: string) => (await t.db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n as number;

async function authorized(amount = 1000): Promise<string> {
  const r = await call(url, 'POST', '/v1/payments', { orderId: `o-${randomUUID()}`, amount, currency: 'EUR' }, key());
  expect(r.status).toBe(201);
  return r.body.id;
}

describe('bad input', () => {
  it('when the amount is negative, zero or fractional, the currency unknown, or the key missing or reused with another body, then a clear problem and nothing recorded', async () => {
    const before = { payments: await count('payments'), intents: (await pspState(psp)).counters };
    const orderId = `o-${randomUUID()}`;
    const cases: [unknown, Record<string, string>, number, string][] = [
      [{ orderId, amount: -100, currency: 'EUR' }, key(), 400, 'request-validation-failed'],
      [{ orderId, amount: 0, currency: 'EUR' }, key(), 400, 'request-validation-failed'],
      [{ orderId, amount: 10.5, currency: 'EUR' }, key(), 400, 'request-validation-failed'],
      [{ orderId, amount: 100, currency: 'XYZ' }, key(), 400, 'request-validation-failed'],
      [{ orderId, amount: 100, currency: 'eur' }, key(), 400, 'request-validation-failed'],
      [{ orderId, amount: 100 }, key(), 400, 'request-validation-failed'],
      [{ orderId, amount: 100, currency: 'EUR' }, {}, 400, 'idempotency-key-missing'],
      [{ orderId, amount: 100, currency: 'EUR' }, { 'idempotency-key': 'k'.repeat(256) }, 400, 'idempotency-key-invalid'],
    ];
    for (const [body, headers, status, type] of cases) {
      const r = await call(url, 'POST', '/v1/payments', body, headers);
      expect({ status: r.status, type: r.body.type }).toEqual({ status, type: `https://bulwark.dev/problems/${type}` });
      expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect(await count('payments')).toBe(before.payments);
    expect((await pspState(psp)).counters).toEqual(before.intents);

    const k = key();
    expect((await call(url, 'POST', '/v1/payments', { orderId, amount: 100, currency: 'EUR' }, k)).status).toBe(201);
    const reused = await call(url, 'POST', '/v1/payments', { orderId, amount: 101, currency: 'EUR' }, k);
    expect(reused.status).toBe(422);
    expect(reused.body.type).toBe('https://bulwark.dev/problems/idempotency-key-reused');
    expect((await call(url, 'GET', `/v1/payments?orderId=${orderId}`)).body.payments).toHaveLength(1);
  });

  it('when the payment does not exist or the id is not a UUID, then 404 / 400', async () => {
    expect((await call(url, 'GET', `/v1/payments/${randomUUID()}`)).status).toBe(404);
    expect((await call(url, 'POST', `/v1/payments/${randomUUID()}/capture`, {}, key())).status).toBe(404);
    expect((await call(url, 'GET', '/v1/payments/not-a-uuid')).status).toBe(400);
  });
});

describe('capture, void and refund', () => {
  it('when captured then refunded partially and fully, then statuses follow, amounts add up and the ledger reconciles', async () => {
    const id = await authorized(1000);
    expect((await call(url, 'POST', `/v1/payments/${id}/capture`, { amount: 900 }, key())).body).toEqual({ id, status: 'captured', amountCaptured: 900, amountRefunded: 0 });
    expect((await call(url, 'POST', `/v1/payments/${id}/refund`, { amount: 300 }, key())).body).toMatchObject({ status: 'partially_refunded', amountRefunded: 300 });
    const tooMuch = await call(url, 'POST', `/v1/payments/${id}/refund`, { amount: 601 }, key());
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.type).toBe('https://bulwark.dev/problems/payments-amount-too-large');
    expect((await call(url, 'POST', `/v1/payments/${id}/refund`, {}, key())).body).toMatchObject({ status: 'refunded', amountRefunded: 900 });
    const sums = await t.db.query(`SELECT kind, sum(amount)::int AS s FROM ledger_entries WHERE payment_id = $1 AND account = 'psp_receivable' GROUP BY kind ORDER BY kind`, [id]);
    expect(sums.rows).toEqual([
      { kind: 'capture', s: 900 },
      { kind: 'refund', s: -900 },
    ]);
    expect((await reconcile(t.db)).ok).toBe(true);
  });

  it('when the transition is impossible, then 409, stored and replayed for the same key', async () => {
    const id = await authorized();
    expect((await call(url, 'POST', `/v1/payments/${id}/refund`, {}, key())).status).toBe(409); // refund before capture
    expect((await call(url, 'POST', `/v1/payments/${id}/void`, {}, key())).body).toMatchObject({ status: 'voided' });
    const k = key();
    const capture = await call(url, 'POST', `/v1/payments/${id}/capture`, {}, k);
    expect(capture.status).toBe(409);
    expect(capture.body).toMatchObject({ type: 'https://bulwark.dev/problems/payments-invalid-transition', paymentId: id });
    const again = await call(url, 'POST', `/v1/payments/${id}/capture`, {}, k);
    expect(again.status).toBe(409);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const captured = await authorized();
    expect((await call(url, 'POST', `/v1/payments/${captured}/capture`, {}, key())).status).toBe(200);
    expect((await call(url, 'POST', `/v1/payments/${captured}/void`, {}, key())).status).toBe(409); // void after capture
  });

  it('when a whole capture, void or refund is asked again with a new key, then 200 with the state and no second operation at the PSP', async () => {
    const before = (await pspState(psp)).counters;
    const captured = await authorized(800);
    expect((await call(url, 'POST', `/v1/payments/${captured}/capture`, {}, key())).status).toBe(200);
    expect((await call(url, 'POST', `/v1/payments/${captured}/capture`, {}, key())).body).toMatchObject({ status: 'captured', amountCaptured: 800 });
    expect((await call(url, 'POST', `/v1/payments/${captured}/refund`, {}, key())).status).toBe(200);
    expect((await call(url, 'POST', `/v1/payments/${captured}/refund`, {}, key())).body).toMatchObject({ status: 'refunded', amountRefunded: 800 });
    expect((await call(url, 'POST', `/v1/payments/${captured}/refund`, { amount: 1 }, key())).status).toBe(409); // an explicit amount is a new refund
    const voided = await authorized();
    expect((await call(url, 'POST', `/v1/payments/${voided}/void`, {}, key())).status).toBe(200);
    expect((await call(url, 'POST', `/v1/payments/${voided}/void`, {}, key())).body).toMatchObject({ status: 'voided' });
    const after = (await pspState(psp)).counters;
    expect([after.captures! - before.captures!, after.refunds! - before.refunds!, after.voids! - before.voids!]).toEqual([1, 1, 1]);
    expect((await t.db.query(`SELECT count(*)::int AS n FROM ledger_entries WHERE payment_id = $1`, [captured])).rows[0]!.n).toBe(4);
  });

  it('when one key is reused for another operation, then 422 and nothing changes', async () => {
    const id = await authorized();
    const k = key();
    expect((await call(url, 'POST', `/v1/payments/${id}/capture`, { amount: 500 }, k)).status).toBe(200);
    const reused = await call(url, 'POST', `/v1/payments/${id}/refund`, { amount: 500 }, k);
    expect(reused.status).toBe(422);
    expect((await call(url, 'GET', `/v1/payments/${id}`)).body).toMatchObject({ status: 'captured', amountRefunded: 0 });
  });

  it('when the same capture is sent 10 times concurrently with one key, then one capture at the PSP and one ledger posting', async () => {
    const id = await authorized(700);
    const before = (await pspState(psp)).counters.captures!;
    const k = key();
    const replies = await Promise.all(Array.from({ length: 10 }, () => call(url, 'POST', `/v1/payments/${id}/capture`, {}, k)));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(replies.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    expect((await pspState(psp)).counters.captures).toBe(before + 1);
    expect((await t.db.query(`SELECT count(*)::int AS n FROM ledger_entries WHERE payment_id = $1`, [id])).rows[0]!.n).toBe(2);
  });
});

describe('service kit conventions', () => {
  it('serves health, readiness, metrics and an OpenAPI document listing the payment routes', async () => {
    expect((await call(url, 'GET', '/healthz')).status).toBe(200);
    expect((await call(url, 'GET', '/readyz')).body).toMatchObject({ status: 'ready' });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('payments_operations_total');
    expect(metrics).toContain('payments_psp_calls_total');
    const openapi = (await call(url, 'GET', '/openapi.json')).body;
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/v1/payments', '/v1/payments/{id}/capture', '/v1/psp/webhooks']));
  });
});
