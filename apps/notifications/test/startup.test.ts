/**
 * The order of a start: the server listens first (/healthz answers, /readyz
 * and the API say "starting" while the schema is migrated and the workers
 * start), then is ready; after kill -9 it is ready while its Kafka consumer
 * still waits for the group to drop the dead member (its session, ~30 s);
 * the consumer joins afterwards and consumes.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { loadConfig } from '@bulwark/service-kit';
import { connectAdmin, createKafka, createProducer } from '@bulwark/events';
import { KAFKA_EVENTS, orderEventSchemas } from '../../orders/src/domain/events.ts';
import { kafkaBrokers, PROBLEM } from '@bulwark/test-support';
import { createNotificationsApp } from '../src/app.ts';
import { notificationsConfigSchema } from '../src/config.ts';
import { call, Receiver, setupNotifications, silent, waitFor, type Service, type TestNotifications } from './support.ts';

let t: TestNotifications;
let receiver: Receiver;
const kafka = () => createKafka({ brokers: kafkaBrokers(), clientId: `notifications-test-${t.id}`, log: silent });

beforeEach(async () => {
  t = await setupNotifications();
  receiver = await new Receiver().start();
});
afterEach(async () => {
  await t.cleanup();
  await receiver.stop();
  const admin = await connectAdmin(kafka());
  const topics = (await admin.listTopics()).filter((name) => name.startsWith(`test.${t.id}.`));
  if (topics.length > 0) await admin.deleteTopics(topics);
  await admin.disconnect();
});

async function consumerRunning(service: Service): Promise<number | undefined> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const line = text.split('\n').find((l) => /^notifications_event_consumer_running[ {]/.test(l));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('start', () => {
  it('when the schema cannot be created yet, then /healthz answers while /readyz and the API are 503 starting; when it can, then ready and the API serves', async () => {
    // The test's uncommitted CREATE SCHEMA of the same name holds the service's CREATE SCHEMA IF NOT EXISTS, its first step.
    const blocker = await t.db.connect();
    const app = createNotificationsApp({ config: loadConfig(notificationsConfigSchema, t.env()), logDestination: { write: () => true } as never });
    try {
      await blocker.query('BEGIN');
      await blocker.query(`CREATE SCHEMA "${t.schema}"`);
      const started = app.start();
      started.catch(() => undefined); // awaited below
      await waitFor(async () => {
        const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1", [`CREATE SCHEMA IF NOT EXISTS "${t.schema}"%`]);
        return rows[0]!.n === 1;
      }, 'the service to wait for the schema');
      const address = app.service.server!.address() as { port: number };
      const url = `http://127.0.0.1:${address.port}`;

      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const readyz = await fetch(`${url}/readyz`);
      expect(readyz.status).toBe(503);
      expect(await readyz.json()).toMatchObject({ code: 'NOT_READY', starting: true });
      const early = await call(url, 'POST', '/v1/tenants/t-start/endpoints', { url: 'http://127.0.0.1:9/hook', eventTypes: ['order.confirmed'] });
      expect(early.status).toBe(503);
      expect(early.headers.get('content-type')).toBe(PROBLEM);
      expect(early.headers.get('retry-after')).toBe('1');

      await blocker.query('ROLLBACK');
      expect((await started).url).toBe(url);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect((await call(url, 'POST', '/v1/tenants/t-start/endpoints', { url: 'http://127.0.0.1:9/hook', eventTypes: ['order.confirmed'] })).status).toBe(201);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
      await app.service.stop();
    }
  });
});

describe('start after a crash', () => {
  it('when the process is killed with -9 and started again, then it is ready while its Kafka consumer still waits for the dead member to leave the group, and the consumer joins and consumes afterwards', async () => {
    const orders = `test.${t.id}.orders`;
    const tenant = `platform-${t.id}`;
    const extra = { EVENTS_ENABLED: 'true', KAFKA_BROKERS: kafkaBrokers().join(','), EVENTS_TOPICS: orders, EVENTS_GROUP: `g-notifications-${t.id}`, EVENTS_TENANT: tenant };
    const first = await t.spawnApp(extra);
    await waitFor(async () => (await consumerRunning(first)) === 1, 'the first consumer to join', 60_000);
    await first.kill('SIGKILL');

    const startedAt = Date.now();
    const second = await t.spawnApp(extra); // resolves when /readyz answers 200
    const readyAfterMs = Date.now() - startedAt;
    expect(await consumerRunning(second)).toBe(0); // ready, and truthful that the consumer has not joined yet
    const path = `/restart-${randomUUID()}`;
    expect((await call(second.url, 'POST', `/v1/tenants/${tenant}/endpoints`, { url: `${receiver.url}${path}`, eventTypes: ['order.confirmed'] })).status).toBe(201);

    await waitFor(async () => (await consumerRunning(second)) === 1, 'the second consumer to join', 90_000);
    const joinedAfterMs = Date.now() - startedAt;
    const producer = createProducer({ kafka: kafka(), schemas: orderEventSchemas, source: '/bulwark/orders', registry: new Registry(), log: silent });
    try {
      const confirmed = await producer.publish(orders, KAFKA_EVENTS.OrderConfirmed, { orderId: 'o-r', version: 1, sagaId: 's-r' }, { key: 'o-r' });
      await waitFor(() => receiver.at(path).some((r) => r.eventId === confirmed.id), 'the event consumed after the join', 60_000);
    } finally {
      await producer.close();
    }
    console.info(`restart after kill -9: ready after ${readyAfterMs} ms, consumer joined after ${joinedAfterMs} ms`); // measured, not asserted
  }, 240_000);
});
