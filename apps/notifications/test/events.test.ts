/**
 * Domain events from real Kafka topics (published with the producers' own
 * definitions from apps/orders and apps/payments: a contract test) become
 * webhook notifications exactly once per event, duplicates included.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { connectAdmin, createKafka, createProducer, type EventProducer } from '@bulwark/events';
import { verifySignature } from '@bulwark/webhook-signature';
import { KAFKA_EVENTS, orderEventSchemas } from '../../orders/src/domain/events.ts';
import { PAYMENT_EVENTS, paymentEventSchemas } from '../../payments/src/domain/payment-events.ts';
import { kafkaBrokers } from '@bulwark/test-support';
import { call, Receiver, setupNotifications, silent, waitFor, type TestNotifications } from './support.ts';

let t: TestNotifications;
let receiver: Receiver;
let producers: EventProducer[] = [];
const kafka = () => createKafka({ brokers: kafkaBrokers(), clientId: `notifications-test-${t.id}`, log: silent });

beforeEach(async () => {
  t = await setupNotifications();
  receiver = await new Receiver().start();
});
afterEach(async () => {
  for (const p of producers) await p.close();
  producers = [];
  await t.cleanup();
  await receiver.stop();
  const admin = await connectAdmin(kafka());
  const topics = (await admin.listTopics()).filter((name) => name.startsWith(`test.${t.id}.`));
  if (topics.length > 0) await admin.deleteTopics(topics);
  await admin.disconnect();
});

describe('domain events', () => {
  it('when order-confirmed and payment-declined events arrive, some twice, then each becomes one signed notification to the matching endpoints and other types are ignored', async () => {
    const orders = `test.${t.id}.orders`;
    const payments = `test.${t.id}.payments`;
    const tenant = `platform-${t.id}`;
    const { url } = await t.startApp({ EVENTS_ENABLED: 'true', KAFKA_BROKERS: kafkaBrokers().join(','), EVENTS_TOPICS: `${orders},${payments}`, EVENTS_GROUP: `g-notifications-${t.id}`, EVENTS_TENANT: tenant });
    const all = `/all-${randomUUID()}`;
    const onlyPayments = `/payments-${randomUUID()}`;
    const secrets = new Map<string, string>();
    for (const [path, eventTypes] of [[all, ['order.confirmed', 'payment.failed']], [onlyPayments, ['payment.failed']]] as const) {
      const r = await call(url, 'POST', `/v1/tenants/${tenant}/endpoints`, { url: `${receiver.url}${path}`, eventTypes });
      expect(r.status).toBe(201);
      secrets.set(path, r.body.secret);
    }
    const orderProducer = createProducer({ kafka: kafka(), schemas: orderEventSchemas, source: '/bulwark/orders', registry: new Registry(), log: silent });
    const paymentProducer = createProducer({ kafka: kafka(), schemas: paymentEventSchemas, source: '/bulwark/payments', registry: new Registry(), log: silent });
    producers.push(orderProducer, paymentProducer);
    const confirmed = await orderProducer.publish(orders, KAFKA_EVENTS.OrderConfirmed, { orderId: 'o-1', version: 7, sagaId: 's-1' }, { key: 'o-1' });
    await orderProducer.publish(orders, KAFKA_EVENTS.OrderConfirmed, { orderId: 'o-1', version: 7, sagaId: 's-1' }, { key: 'o-1', id: confirmed.id }); // a duplicate publish
    await orderProducer.publish(orders, KAFKA_EVENTS.ItemAdded, { orderId: 'o-1', version: 2, sku: 'sku-1', quantity: 1, unitPriceCents: 100 }, { key: 'o-1' });
    const declined = await paymentProducer.publish(
      payments,
      PAYMENT_EVENTS.declined,
      { paymentId: 'p-1', orderId: 'o-2', pspIntentId: 'pi_1', amount: 700, currency: 'EUR', version: 1, declineCode: 'insufficient_funds' },
      { key: 'o-2' },
    );
    await paymentProducer.publish(payments, PAYMENT_EVENTS.declined, { paymentId: 'p-1', orderId: 'o-2', pspIntentId: 'pi_1', amount: 700, currency: 'EUR', version: 1, declineCode: 'insufficient_funds' }, { key: 'o-2', id: declined.id });

    await waitFor(() => receiver.at(all).length === 2 && receiver.at(onlyPayments).length === 1, 'three notifications', 60_000);
    await waitFor(async () => ((await call(url, 'GET', `/v1/tenants/${tenant}/deliveries?status=succeeded`)).body.deliveries as unknown[]).length === 3, 'deliveries recorded');
    const bodies = receiver.at(all).map((r) => JSON.parse(r.body) as { id: string; type: string; data: unknown });
    expect(bodies.sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { id: confirmed.id, type: 'order.confirmed', occurredAt: confirmed.time, data: { orderId: 'o-1' } },
      { id: declined.id, type: 'payment.failed', occurredAt: declined.time, data: { orderId: 'o-2', paymentId: 'p-1', amount: 700, currency: 'EUR', declineCode: 'insufficient_funds' } },
    ]);
    expect(JSON.parse(receiver.at(onlyPayments)[0]!.body).id).toBe(declined.id);
    for (const path of [all, onlyPayments]) for (const r of receiver.at(path)) expect(verifySignature(r.signature, r.body, [secrets.get(path)!])).toMatchObject({ ok: true });
    // The duplicates were marked processed, not fanned out again. Sentinels published after them on the same
    // partitions (same keys) are handled after them: once the sentinels' deliveries exist, the duplicates are done.
    const lateOrder = await orderProducer.publish(orders, KAFKA_EVENTS.OrderConfirmed, { orderId: 'o-1', version: 8, sagaId: 's-1' }, { key: 'o-1' });
    const latePayment = await paymentProducer.publish(payments, PAYMENT_EVENTS.declined, { paymentId: 'p-2', orderId: 'o-2', pspIntentId: 'pi_2', amount: 1, currency: 'EUR', version: 1, declineCode: null }, { key: 'o-2' });
    const perEvent = async () => (await t.db.query<{ eventId: string; n: number }>(`SELECT event_id AS "eventId", count(*)::int AS n FROM deliveries GROUP BY event_id`)).rows;
    await waitFor(async () => (await perEvent()).some((r) => r.eventId === lateOrder.id) && (await perEvent()).some((r) => r.eventId === latePayment.id), 'the sentinels fanned out');
    expect(Object.fromEntries((await perEvent()).map((r) => [r.eventId, r.n]))).toEqual({ [confirmed.id]: 1, [declined.id]: 2, [lateOrder.id]: 1, [latePayment.id]: 2 });
  });

  it('when the service process (main.ts) consumes a domain event and then gets SIGTERM, then the notification is delivered and it exits 0', async () => {
    const orders = `test.${t.id}.orders`;
    const tenant = `platform-${t.id}`;
    const child = await t.spawnApp({ EVENTS_ENABLED: 'true', KAFKA_BROKERS: kafkaBrokers().join(','), EVENTS_TOPICS: orders, EVENTS_GROUP: `g-notifications-${t.id}`, EVENTS_TENANT: tenant, SHUTDOWN_DELAY_MS: '0' });
    const path = `/main-${randomUUID()}`;
    expect((await call(child.url, 'POST', `/v1/tenants/${tenant}/endpoints`, { url: `${receiver.url}${path}`, eventTypes: ['order.confirmed'] })).status).toBe(201);
    const producer = createProducer({ kafka: kafka(), schemas: orderEventSchemas, source: '/bulwark/orders', registry: new Registry(), log: silent });
    producers.push(producer);
    const confirmed = await producer.publish(orders, KAFKA_EVENTS.OrderConfirmed, { orderId: 'o-9', version: 3, sagaId: 's-9' }, { key: 'o-9' });
    await waitFor(() => receiver.at(path).length === 1, 'the notification', 60_000);
    expect(receiver.at(path)[0]!.eventId).toBe(confirmed.id);
    child.child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  });
});
