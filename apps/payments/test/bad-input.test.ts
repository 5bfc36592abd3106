/**
 * Input no store can take is refused at the edge (the kit's checks) before
 * the Idempotency-Key middleware or the PSP see it: JSON nested past
 * BODY_MAX_DEPTH in a property the schema leaves open, U+0000 in the query
 * and in a signed PSP webhook, which the handler parses itself.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SIGNATURE_HEADER, signatureHeader } from '@bulwark/webhook-signature';
import { PROBLEM } from '@bulwark/test-support';
import { call, pspState, SECRET_OLD, setupPayments, type TestPayments } from './support.ts';

describe('bad input to the payments API', () => {
  let t: TestPayments;
  let url: string;
  let psp: string;
  beforeAll(async () => {
    t = await setupPayments();
    psp = (await t.startPsp()).url;
    url = (await t.startApp()).url;
  });
  afterAll(() => t.cleanup());

  const count = async (table: string): Promise<number> => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

  it('when a payment carries a property nested 5,000 or 10,000 levels, then 400 JSON_TOO_DEEP and nothing is stored or authorized', async () => {
    for (const depth of [5_000, 10_000]) {
      const body = `{"orderId":"o-${randomUUID()}","amount":4200,"currency":"EUR","metadata":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const r = await call(url, 'POST', '/v1/payments', body, { 'idempotency-key': randomUUID() });
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toBe(PROBLEM);
      expect(r.body).toMatchObject({ code: 'JSON_TOO_DEEP', maxDepth: 64 });
    }
    expect(await count('payments')).toBe(0);
    expect(await count('idempotency_keys')).toBe(0);
    expect((await pspState(psp)).counters.authorizations ?? 0).toBe(0);
  });

  it('when a signed PSP webhook names an intent with \\u0000, then 400 problem+json, not a 500 the PSP retries', async () => {
    const transition = { kind: 'authorized', amount: 100, version: 2 };
    const object = { id: 'pi_\u0000', amount: 100, currency: 'EUR', status: 'authorized', amountCaptured: 0, amountRefunded: 0, version: 2, declineCode: null, metadata: {}, lastTransition: transition };
    const body = JSON.stringify({ id: 'evt_1', type: 'payment_intent.authorized', created: 1, data: { object, transition } });
    const r = await call(url, 'POST', '/v1/psp/webhooks', body, { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(body, [SECRET_OLD]) });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe(PROBLEM);
    expect(r.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'body', path: 'data.object.id' }] });
    expect(await count('psp_webhook_events')).toBe(0);
  });

  it('when a signed PSP webhook carries a version past PostgreSQL integer or a paymentId that is no uuid, then 400, not a 500 the PSP retries', async () => {
    const sent: string[] = [];
    const event = (version: number, paymentId: string): string => {
      const transition = { kind: 'authorized', amount: 100, version };
      const object = { id: `pi_${randomUUID()}`, amount: 100, currency: 'EUR', status: 'authorized', amountCaptured: 0, amountRefunded: 0, version, declineCode: null, metadata: { paymentId }, lastTransition: transition };
      const id = `evt_${randomUUID()}`;
      sent.push(id);
      return JSON.stringify({ id, type: 'payment_intent.authorized', created: 1, data: { object, transition } });
    };
    const paid = await call(url, 'POST', '/v1/payments', { orderId: `o-${randomUUID()}`, amount: 100, currency: 'EUR' }, { 'idempotency-key': randomUUID() });
    expect(paid.status).toBe(201);
    for (const body of [event(2 ** 31, paid.body.id as string), event(2, 'not-a-uuid')]) {
      const r = await call(url, 'POST', '/v1/psp/webhooks', body, { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(body, [SECRET_OLD]) });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'PAYMENTS_WEBHOOK_INVALID' });
    }
    expect((await t.db.query('SELECT event_id FROM psp_webhook_events WHERE event_id = ANY($1)', [sent])).rows).toEqual([]);
  });

  it('when payments are listed with orderId=%00, then 400 problem+json names the query parameter', async () => {
    const r = await call(url, 'GET', '/v1/payments?orderId=%00');
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe(PROBLEM);
    expect(r.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED', issues: [{ in: 'query', path: 'orderId' }] });
  });
});
