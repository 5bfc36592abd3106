import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createConsumer, createKafka, handle, migrateProcessedEventStore, type EventConsumer } from '@bulwark/events';
import { KAFKA_EVENTS, orderEventSchemas } from '../src/domain/events.ts';
import { slotStatus } from '../src/relay/replication-setup.ts';
import { ADDRESS, brokers, call, setupOrders, silent, waitFor, type TestOrders } from './support.ts';

interface Seen {
  eventId: string;
  orderId: string;
  version: number;
}

/** A real consumer of the topic (packages/events): handles each event id once thanks to its processed-event store. */
async function startConsumer(t: TestOrders): Promise<{ seen: Seen[]; registry: Registry; consumer: EventConsumer }> {
  await migrateProcessedEventStore({ pool: t.db, schema: t.schema });
  const seen: Seen[] = [];
  const registry = new Registry();
  const consumer = createConsumer({
    kafka: createKafka({ brokers: brokers().split(','), clientId: `orders-test-consumer-${t.id}` }),
    group: `g-orders-${t.id}`,
    topics: [t.topic],
    schemas: orderEventSchemas,
    pool: t.db,
    storeSchema: t.schema,
    registry,
    log: silent,
    provisionRetryTopics: false,
    retry: { delaysMs: [], maxAttempts: 1 },
    sessionTimeoutMs: 6_000,
    rebalanceTimeoutMs: 5_000,
    heartbeatIntervalMs: 300,
    maxWaitTimeMs: 100,
    lagIntervalMs: 0,
    handlers: Object.values(KAFKA_EVENTS).map((def) =>
      handle(def, async (event) => {
        seen.push({ eventId: event.id, orderId: String(event.data.orderId), version: Number(event.data.version) });
      }),
    ),
  });
  await consumer.start();
  return { seen, registry, consumer };
}

async function duplicates(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric('events_consumed_total');
  if (!metric) return 0;
  return (await metric.get()).values.filter((v) => v.labels.outcome === 'duplicate').reduce((n, v) => n + v.value, 0);
}

function expectInOrderOnce(seen: readonly Seen[], expected: Record<string, number>): void {
  for (const [orderId, last] of Object.entries(expected)) {
    expect(seen.filter((s) => s.orderId === orderId).map((s) => s.version)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  }
  expect(new Set(seen.map((s) => s.eventId)).size).toBe(seen.length);
}

describe('CDC relay (logical replication → Kafka)', () => {
  let t: TestOrders;
  let consumer: EventConsumer | undefined;
  beforeEach(async () => {
    t = await setupOrders();
  });
  afterEach(async () => {
    await consumer?.stop();
    consumer = undefined;
    await t.cleanup();
  });

  it('when the relay is down while orders change, then the events wait in the WAL and all arrive in order once it starts again', async () => {
    const { app, url } = await t.start({ relay: true });
    const c = await startConsumer(t);
    consumer = c.consumer;
    const id = (await call(url, 'POST', '/orders', { customerId: 'c' })).body.order.orderId as string;
    await waitFor(() => c.seen.length === 1, 'OrderCreated on Kafka');
    await app.workers.relay!.stop();
    for (let i = 0; i < 8; i++) await call(url, 'POST', `/orders/${id}/items`, { sku: `s${i}`, quantity: 1, unitPriceCents: 10 });
    await call(url, 'PUT', `/orders/${id}/address`, { address: ADDRESS });
    await call(url, 'POST', `/orders/${id}/place`, {});
    expect((await slotStatus(t.db, t.slot))!.lagBytes).toBeGreaterThan(0);
    expect((await call(url, 'GET', '/relay')).body).toMatchObject({ enabled: true, streaming: false, slot: t.slot });
    app.workers.relay!.start();
    await waitFor(() => c.seen.length >= 11, 'all 11 events on Kafka');
    expectInOrderOnce(c.seen, { [id]: 11 });
    await waitFor(async () => /orders_relay_slot_lag_bytes/.test(await (await fetch(`${url}/metrics`)).text()), 'slot lag metric');
  });

  it('when Kafka is unreachable (relay producer pointed at a closed port), then nothing is acknowledged and a relay that can reach Kafka later publishes everything', async () => {
    await t.build({ relay: true }).prepare(); // topic, publication and slot
    const broken = t.build({ relay: true, kafkaBrokers: '127.0.0.1:1', projector: false });
    broken.workers.start();
    const writer = t.build({ projector: false });
    const { url } = await writer.start();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = (await call(url, 'POST', '/orders', { customerId: 'c' })).body.order.orderId as string;
      await call(url, 'POST', `/orders/${id}/items`, { sku: 'a', quantity: 1, unitPriceCents: 1 });
      ids.push(id);
    }
    await waitFor(() => broken.workers.relay!.received >= 6, 'broken relay received the events');
    const before = await slotStatus(t.db, t.slot);
    expect(broken.workers.relay!.published).toBe(0);
    await broken.workers.stop();
    const c = await startConsumer(t);
    consumer = c.consumer;
    expect(before!.lagBytes).toBeGreaterThan(0);
    const healthy = t.build({ relay: true, projector: false });
    healthy.workers.start();
    await waitFor(() => c.seen.length >= 6, 'all 6 events on Kafka');
    expectInOrderOnce(c.seen, Object.fromEntries(ids.map((id) => [id, 2])));
  });

  it('when the relay dies after Kafka confirmed a batch but before acknowledging the slot, then the batch is redelivered and the consumer absorbs the duplicates', async () => {
    const hang = new Promise<void>(() => undefined);
    const first = t.build({ relay: true, beforeAcknowledge: () => hang });
    const { url } = await first.start();
    const c = await startConsumer(t);
    consumer = c.consumer;
    const id = (await call(url, 'POST', '/orders', { customerId: 'c' })).body.order.orderId as string;
    for (let i = 0; i < 4; i++) await call(url, 'POST', `/orders/${id}/items`, { sku: `s${i}`, quantity: 1, unitPriceCents: 1 });
    await waitFor(() => c.seen.length >= 5, 'first delivery of 5 events');
    await first.workers.stop(); // "killed": nothing was acknowledged
    const second = t.build({ relay: true, projector: false });
    second.workers.start();
    await waitFor(() => second.workers.relay!.published >= 5, 'redelivery published');
    await waitFor(async () => (await duplicates(c.registry)) >= 5, 'duplicates absorbed by the consumer');
    expectInOrderOnce(c.seen, { [id]: 5 });
    await waitFor(async () => (await slotStatus(t.db, t.slot))!.confirmedFlushLsn !== null, 'slot acknowledged');
  });
});
