import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { connectAdmin, createConsumer, createKafka, handle, migrateProcessedEventStore, type EventConsumer } from '@bulwark/events';
import { fastConsumer, kafkaBrokers } from '@bulwark/test-support';
import { PAYMENT_EVENTS, paymentEventSchemas } from '../src/domain/payment-events.ts';
import { call, pspState, setKnobs, setupPayments, silent, waitFor, webhooksSettled, type TestPayments } from './support.ts';

let t: TestPayments;
let consumer: EventConsumer | undefined;
let topic: string;

beforeEach(async () => {
  t = await setupPayments();
  topic = `test.${t.id}.payments`;
});
afterEach(async () => {
  await consumer?.stop();
  consumer = undefined;
  await t.cleanup();
  const admin = await connectAdmin(createKafka({ brokers: kafkaBrokers(), clientId: `payments-test-${t.id}` }));
  const topics = (await admin.listTopics()).filter((name) => name.startsWith(`test.${t.id}.`));
  if (topics.length > 0) await admin.deleteTopics(topics);
  await admin.disconnect();
});

describe('payment events', () => {
  it('when payments are authorized, declined, captured, refunded and voided with duplicated webhooks, then Kafka gets one event per PSP transition with the order as key', async () => {
    const psp = (await t.startPsp()).url;
    const { url } = await t.startApp({ EVENTS_ENABLED: 'true', KAFKA_BROKERS: kafkaBrokers().join(','), PAYMENTS_TOPIC: topic, PAYMENTS_TOPIC_PARTITIONS: '2', OUTBOX_POLL_MS: '20' });
    await setKnobs(psp, { duplicateWebhookRate: 1 });
    const key = () => ({ 'idempotency-key': randomUUID() });
    const orderId = `o-${randomUUID()}`;
    const a = (await call(url, 'POST', '/v1/payments', { orderId, amount: 1000, currency: 'EUR' }, key())).body;
    expect((await call(url, 'POST', `/v1/payments/${a.id}/capture`, {}, key())).status).toBe(200);
    expect((await call(url, 'POST', `/v1/payments/${a.id}/refund`, { amount: 400 }, key())).status).toBe(200);
    const b = (await call(url, 'POST', '/v1/payments', { orderId, amount: 500, currency: 'EUR' }, key())).body;
    expect((await call(url, 'POST', `/v1/payments/${b.id}/void`, {}, key())).status).toBe(200);
    const declined = await call(url, 'POST', '/v1/payments', { orderId, amount: 700, currency: 'EUR' }, { ...key(), 'psp-simulate': 'decline' });
    expect(declined.status).toBe(402);
    await webhooksSettled(psp);
    expect((await pspState(psp)).webhooks.delivered).toBe(12); // 6 transitions, each delivered twice

    await migrateProcessedEventStore({ pool: t.db, schema: t.schema });
    const seen: { id: string; type: string; paymentId: string; version: number; amount: number; subject: string | undefined }[] = [];
    consumer = createConsumer({
      kafka: createKafka({ brokers: kafkaBrokers(), clientId: `payments-test-consumer-${t.id}` }),
      group: `g-payments-${t.id}`,
      topics: [topic],
      schemas: paymentEventSchemas,
      pool: t.db,
      storeSchema: t.schema,
      registry: new Registry(),
      log: silent,
      provisionRetryTopics: false,
      retry: { delaysMs: [], maxAttempts: 1 },
      ...fastConsumer,
      handlers: Object.values(PAYMENT_EVENTS).map((def) =>
        handle(def, async (event) => {
          seen.push({ id: event.id, type: event.type, paymentId: event.data.paymentId, version: event.data.version, amount: event.data.amount, subject: event.subject });
        }),
      ),
    });
    await consumer.start();
    await waitFor(() => seen.length >= 6, 'six payment events');
    await waitFor(async () => (await t.db.query(`SELECT count(*)::int AS n FROM payment_events_outbox WHERE published_at IS NULL`)).rows[0]!.n === 0, 'outbox drained');
    expect((await t.db.query(`SELECT count(*)::int AS n FROM payment_events_outbox`)).rows[0]!.n).toBe(6);
    const byPayment = (id: string) => seen.filter((e) => e.paymentId === id).sort((x, y) => x.version - y.version).map((e) => [e.type.replace('com.bulwark.payments.payment-', ''), e.amount]);
    expect(byPayment(a.id)).toEqual([
      ['authorized', 1000],
      ['captured', 1000],
      ['refunded', 400],
    ]);
    expect(byPayment(b.id)).toEqual([
      ['authorized', 500],
      ['voided', 0],
    ]);
    expect(byPayment(declined.body.paymentId)).toEqual([['declined', 700]]);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    expect(seen.every((e) => e.subject === orderId)).toBe(true); // Kafka key = subject = the order
  });
});
