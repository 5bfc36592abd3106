import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { startHttpServer, type HttpServer } from '@bulwark/test-support';
import { SIGNATURE_HEADER, verifySignature } from '@bulwark/webhook-signature';
import { call, freePort, SECRET_NEW, SECRET_OLD, setKnobs, spawnProcess, waitFor, type Service } from './support.ts';

/** A webhook subscriber that records what arrives, in arrival order. */
interface Received {
  id: string;
  type: string;
  version: number;
  signature: string;
  body: string;
}

let receiver: HttpServer;
let received: Received[];
let psp: Service;

beforeEach(async () => {
  received = [];
  receiver = await startHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const e = JSON.parse(body) as { id: string; type: string; data: { transition: { version: number } } };
      received.push({ id: e.id, type: e.type, version: e.data.transition.version, signature: String(req.headers[SIGNATURE_HEADER]), body });
      res.end('ok');
    });
  });
  psp = await spawnProcess('src/psp/main.ts', await freePort(), {
    PSP_WEBHOOK_URLS: `${receiver.url}/hooks`,
    PSP_WEBHOOK_SECRETS: SECRET_OLD,
    PSP_OUT_OF_ORDER_HOLD_MS: '10000',
  });
});
afterEach(async () => {
  await psp.kill('SIGKILL');
  await receiver.close();
});

const intent = (key: string, body: unknown, headers: Record<string, string> = {}) => call(psp.url, 'POST', '/v1/payment_intents', body, { 'idempotency-key': key, ...headers });

describe('PSP simulator', () => {
  it('when one key is sent 10 times concurrently, then one intent and 9 replays; another body with the key is 422; no key is 400', async () => {
    const key = randomUUID();
    const replies = await Promise.all(Array.from({ length: 10 }, () => intent(key, { amount: 500, currency: 'EUR', metadata: { orderId: key } })));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    expect((await call(psp.url, 'GET', `/v1/payment_intents?orderId=${key}`)).body.data).toHaveLength(1);
    expect((await intent(key, { amount: 501, currency: 'EUR', metadata: { orderId: key } })).body.code).toBe('PSP_SIM_KEY_REUSED');
    expect((await call(psp.url, 'POST', '/v1/payment_intents', { amount: 1, currency: 'EUR' })).status).toBe(400);
  });

  it('when an event is marked out-of-order and duplicated, then the next event of the intent overtakes it and it arrives twice with one id', async () => {
    const created = await intent(randomUUID(), { amount: 700, currency: 'EUR' }, { 'psp-simulate': 'out-of-order,duplicate-webhook' });
    expect(created.status).toBe(201);
    const capture = await call(psp.url, 'POST', `/v1/payment_intents/${created.body.id}/capture`, { amount: 300 }, { 'idempotency-key': randomUUID() });
    expect(capture.body).toMatchObject({ status: 'captured', amountCaptured: 300, version: 2 });
    await waitFor(() => received.length === 3, 'three deliveries');
    expect(received[0]).toMatchObject({ type: 'payment_intent.captured', version: 2 });
    expect(received.slice(1).map((r) => [r.type, r.version])).toEqual([
      ['payment_intent.authorized', 1],
      ['payment_intent.authorized', 1],
    ]);
    expect(received[1]!.id).toBe(received[2]!.id);
  });

  it('when two secrets are active, then each webhook carries one v1 per secret and a receiver holding either verifies it', async () => {
    await setKnobs(psp.url, { webhookSecrets: [SECRET_NEW, SECRET_OLD] });
    expect((await intent(randomUUID(), { amount: 100, currency: 'EUR' })).status).toBe(201);
    await waitFor(() => received.length === 1, 'one delivery');
    const { signature, body } = received[0]!;
    expect(signature.match(/v1=/g)).toHaveLength(2);
    expect(verifySignature(signature, body, [SECRET_OLD])).toMatchObject({ ok: true });
    expect(verifySignature(signature, body, [SECRET_NEW])).toMatchObject({ ok: true });
    expect(verifySignature(signature, body, ['whsec_other_0000000000000'])).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('when a refund exceeds what is left or a capture follows a void, then 422 / 409 and the replay of the same key answers the same', async () => {
    const a = (await intent(randomUUID(), { amount: 1000, currency: 'EUR' })).body;
    await call(psp.url, 'POST', `/v1/payment_intents/${a.id}/capture`, {}, { 'idempotency-key': randomUUID() });
    expect((await call(psp.url, 'POST', `/v1/payment_intents/${a.id}/refund`, { amount: 400 }, { 'idempotency-key': randomUUID() })).body).toMatchObject({ status: 'partially_refunded', amountRefunded: 400 });
    const k = randomUUID();
    const tooMuch = await call(psp.url, 'POST', `/v1/payment_intents/${a.id}/refund`, { amount: 601 }, { 'idempotency-key': k });
    expect([tooMuch.status, tooMuch.body.code]).toEqual([422, 'PSP_SIM_INVALID_AMOUNT']);
    expect((await call(psp.url, 'POST', `/v1/payment_intents/${a.id}/refund`, { amount: 601 }, { 'idempotency-key': k })).status).toBe(422);
    const b = (await intent(randomUUID(), { amount: 1000, currency: 'EUR' })).body;
    await call(psp.url, 'POST', `/v1/payment_intents/${b.id}/void`, {}, { 'idempotency-key': randomUUID() });
    expect((await call(psp.url, 'POST', `/v1/payment_intents/${b.id}/capture`, {}, { 'idempotency-key': randomUUID() })).body.code).toBe('PSP_SIM_INVALID_STATE');
  });

  it('when timeout and decline rates are set (seeded), then over 300 authorizations callers see those rates: a held decline is a timeout, not a 402', async () => {
    await setKnobs(psp.url, { declineRate: 0.3, timeoutRate: 0.2, seed: 11 });
    const n = 300;
    // The simulator counts the calls it holds (timeouts). Wait until every other call has answered,
    // then give up on the rest: those are the held ones. No client-side clock decides what a timeout is.
    const abandon = new AbortController();
    let answered = 0;
    const calls = Array.from({ length: n }, async () => {
      try {
        const res = await fetch(`${psp.url}/v1/payment_intents`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify({ amount: 100, currency: 'EUR' }),
          signal: abandon.signal,
        });
        await res.arrayBuffer();
        return res.status === 201 ? 'authorized' : res.status === 402 ? 'declined' : `status ${res.status}`;
      } catch (err) {
        if ((err as Error).name === 'AbortError') return 'timeout';
        throw err;
      } finally {
        answered++;
      }
    });
    let held = 0;
    await waitFor(async () => {
      held = (await call(psp.url, 'GET', '/v1/_simulator')).body.counters.timeouts as number;
      return answered === n - held && held > 0;
    }, 'every call the simulator does not hold has answered', 60_000);
    abandon.abort();
    const outcomes = await Promise.all(calls);
    const share = (o: string) => outcomes.filter((x) => x === o).length / n;
    expect(share('authorized') + share('declined') + share('timeout')).toBe(1);
    expect(Math.abs(share('timeout') - 0.2)).toBeLessThan(0.05);
    expect(Math.abs(share('declined') - 0.3)).toBeLessThan(0.05);
    expect(outcomes.filter((x) => x === 'timeout').length).toBe(held);
  });
});
