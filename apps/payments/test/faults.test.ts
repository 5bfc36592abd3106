import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { reconcile } from '../src/store/payments-store.ts';
import { call, pspState, setKnobs, setupPayments, waitFor, webhooksSettled, type Reply, type TestPayments } from './support.ts';

let t: TestPayments;

beforeEach(async () => {
  t = await setupPayments();
});
afterEach(async () => {
  await t.cleanup();
});

/** Retries a call with the same key until it is not a 503/504, as a well-behaved client (the saga) does. */
let faultsSeen = 0;

async function untilSettled(send: () => Promise<Reply>): Promise<Reply> {
  for (let i = 0; ; i++) {
    const r = await send();
    if (r.status !== 503 && r.status !== 504) return r;
    faultsSeen++;
    if (i > 50) throw new Error(`still ${r.status} after ${i} retries`);
  }
}

describe('faults', () => {
  it('when the PSP declines, times out and lags at random, then after clients retry with their keys every charge happened once and money reconciles with the PSP', async () => {
    const psp = (await t.startPsp({ PSP_TIMEOUT_HOLD_MS: '1500' })).url;
    const url = (await t.startApp({ PSP_TIMEOUT_MS: '400' })).url;
    await setKnobs(psp, { declineRate: 0.2, timeoutRate: 0.25, latencyMs: { p50: 5, p99: 80 }, duplicateWebhookRate: 0.3, outOfOrderRate: 0.3 });
    const ids: string[] = [];
    let declined = 0;
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const orderId = `o-${randomUUID()}`;
        const k = randomUUID();
        const a = await untilSettled(() => call(url, 'POST', '/v1/payments', { orderId, amount: 1000 + i, currency: 'EUR' }, { 'idempotency-key': k }));
        if (a.status === 402) return void declined++;
        expect(a.status).toBe(201);
        ids.push(a.body.id);
        const ck = randomUUID();
        expect((await untilSettled(() => call(url, 'POST', `/v1/payments/${a.body.id}/capture`, {}, { 'idempotency-key': ck }))).status).toBe(200);
        if (i % 2 === 0) {
          const rk = randomUUID();
          expect((await untilSettled(() => call(url, 'POST', `/v1/payments/${a.body.id}/refund`, { amount: 300 }, { 'idempotency-key': rk }))).status).toBe(200);
        }
      }),
    );
    expect(faultsSeen).toBeGreaterThan(0); // P(no timeout in ≥ 24 calls at 25 %) < 0.1 %
    await setKnobs(psp, { declineRate: 0, timeoutRate: 0, duplicateWebhookRate: 0, outOfOrderRate: 0 });
    await webhooksSettled(psp);
    const counters = (await pspState(psp)).counters;
    expect(counters.authorizations! + counters.declines!).toBe(12); // one PSP authorization attempt per key, whatever the retries
    expect(counters.declines).toBe(declined);
    let pspNet = 0;
    for (const id of ids) {
      const mine = (await call(url, 'GET', `/v1/payments/${id}`)).body;
      const theirs = (await call(psp, 'GET', `/v1/payment_intents/${mine.pspIntentId}`)).body;
      expect([mine.status, mine.amountCaptured, mine.amountRefunded]).toEqual([theirs.status, theirs.amountCaptured, theirs.amountRefunded]);
      pspNet += theirs.amountCaptured - theirs.amountRefunded;
    }
    const r = await reconcile(t.db);
    expect(r).toMatchObject({ ok: true, ledgerTotal: 0 });
    expect(r.receivable).toBe(pspNet); // the ledger holds exactly what the PSP moved: no double charge, no lost capture
  });

  it('when the payments process is SIGKILLed while waiting for the PSP answer, then after a restart the retry with the same key recovers the one authorization', async () => {
    const psp = (await t.startPsp()).url;
    let svc = await t.spawnApp({ PSP_TIMEOUT_MS: '8000' });
    const orderId = `o-${randomUUID()}`;
    const k = randomUUID();
    const body = { orderId, amount: 2500, currency: 'GBP' };
    // The PSP authorizes at once and holds its answer: payments is inside its transaction, waiting.
    const inFlight = call(svc.url, 'POST', '/v1/payments', body, { 'idempotency-key': k, 'psp-simulate': 'timeout' }).catch((err: unknown) => err);
    await waitFor(async () => (await call(psp, 'GET', `/v1/payment_intents?orderId=${orderId}`)).body.data.length === 1, 'the PSP to authorize');
    await svc.kill('SIGKILL');
    expect(await inFlight).toHaveProperty('message', 'fetch failed'); // the client never got an answer
    expect((await t.db.query('SELECT count(*)::int AS n FROM payments')).rows[0]!.n).toBe(0); // the open transaction died with the process
    svc = await t.spawnApp({ PSP_TIMEOUT_MS: '8000' });
    const retry = await call(svc.url, 'POST', '/v1/payments', body, { 'idempotency-key': k });
    expect(retry.status).toBe(201);
    expect((await call(psp, 'GET', `/v1/payment_intents?orderId=${orderId}`)).body.data).toHaveLength(1);
    expect((await pspState(psp)).counters.authorizations).toBe(1);
    expect((await call(svc.url, 'GET', `/v1/payments?orderId=${orderId}`)).body.payments).toHaveLength(1);
  });

  it('when the payments process gets SIGTERM while a PSP call is in flight, then that payment completes and is recorded before it exits 0', async () => {
    const psp = (await t.startPsp()).url;
    const svc = await t.spawnApp({ PSP_TIMEOUT_MS: '8000', SHUTDOWN_TIMEOUT_MS: '10000', SHUTDOWN_DELAY_MS: '0' });
    const orderId = `o-${randomUUID()}`;
    const inFlight = call(svc.url, 'POST', '/v1/payments', { orderId, amount: 990, currency: 'CHF' }, { 'idempotency-key': randomUUID(), 'psp-simulate': 'timeout' });
    await waitFor(async () => (await call(psp, 'GET', `/v1/payment_intents?orderId=${orderId}`)).body.data.length === 1, 'the PSP to authorize');
    svc.child.kill('SIGTERM');
    const reply = await inFlight;
    expect(reply.status).toBe(201);
    expect(await svc.exited).toBe(0);
    expect((await t.db.query(`SELECT status FROM payments WHERE order_id = $1`, [orderId])).rows).toEqual([{ status: 'authorized' }]);
  });

  it('when the PSP process is down, then 503 problem+json, nothing recorded, and the breaker opens', async () => {
    const psp = await t.startPsp();
    const url = (await t.startApp({ PSP_BREAKER_VOLUME: '3', PSP_BREAKER_RESET_MS: '60000' })).url;
    await psp.kill('SIGKILL');
    const orderId = `o-${randomUUID()}`;
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await call(url, 'POST', '/v1/payments', { orderId, amount: 100, currency: 'EUR' }, { 'idempotency-key': `k-${orderId}` }));
    for (const r of replies) expect(r.body).toMatchObject({ type: 'https://bulwark.dev/problems/payments-psp-unavailable', status: 503 });
    expect(replies.at(-1)!.body.detail).toMatch(/breaker is open/);
    expect(replies.at(-1)!.headers.get('retry-after')).toBe('60');
    expect((await t.db.query('SELECT count(*)::int AS n FROM payments')).rows[0]!.n).toBe(0);
    expect((await call(url, 'GET', '/readyz')).status).toBe(200);
  });
});
