/**
 * Soak: the orders CDC relay killed again and again under load, then every
 * committed event compared with the topic.
 *
 * The orders service runs as `npm run up` runs it (its own src/main.ts in a
 * child process, relay on) against the real PostgreSQL and Kafka, in a schema,
 * slot, publication and topic of its own. SOAK_WRITERS (24) writers create
 * orders and append items as fast as the service takes them, so commits land
 * back to back (the case where one transaction's COMMIT starts where the one
 * before it ends). Every SOAK_KILL_EVERY_MS (2,500, ±50% jitter) the process
 * gets SIGKILL and is started again SOAK_RESTART_DELAY_MS (2,000) later with
 * the same environment, for SOAK_SECONDS (60). SOAK_TX_WRITERS (8) more
 * append through the event store in explicit transactions held open up to
 * 100 ms before COMMIT, as the checkout saga's steps are: that is what puts
 * one transaction's COMMIT right where another's ends or where an idle
 * relay's keepalive stood, the edge a relay must not confirm past. Then the last process drains
 * the slot, a plain kafkajs consumer reads the topic from the beginning, and
 * the event ids in `orders.events` are compared with the CloudEvents ids on
 * Kafka: missing ones fail the soak (exit 1); duplicates (a redelivery after a
 * kill) are allowed only under the same id, and are counted.
 *
 * Run: npm run soak -- cdc-relay (SOAK_ORDERS_MAIN=<path to apps/orders/src/main.ts> soaks another checkout's build)
 */
import kafkajs from 'kafkajs';
import { call, startService, waitFor, type Service } from '@bulwark/test-support';
import { appendToStream } from '../../apps/orders/src/store/event-store.ts';
import { ensureInfra } from '../infra/index.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const WRITERS = Number(process.env.SOAK_WRITERS ?? 24);
const TX_WRITERS = Number(process.env.SOAK_TX_WRITERS ?? 8);
const KILL_EVERY_MS = Number(process.env.SOAK_KILL_EVERY_MS ?? 2_500);
const RESTART_DELAY_MS = Number(process.env.SOAK_RESTART_DELAY_MS ?? 2_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export default async function main(): Promise<void> {
  Object.assign(process.env, await ensureInfra(['postgres', 'kafka']));
  // The test helper owns the schema, slot, publication and topic names and their clean-up (one mechanism).
  const { setupOrders } = await import('../../apps/orders/test/support.ts');
  const t = await setupOrders();
  // SOAK_ORDERS_MAIN runs another checkout's orders service (e.g. a known-bad build, to see the soak catch it).
  const main = process.env.SOAK_ORDERS_MAIN ?? new URL('../../apps/orders/src/main.ts', import.meta.url).pathname;
  const env = t.env({ relay: true, env: { LOG_LEVEL: 'error' } }); // projector on, as up runs it: its read-model commits interleave with the events'
  let service: Service | undefined;
  const start = async () => {
    service = await startService({ main, name: 'orders', env, stopGraceMs: 5_000 });
  };
  let kills = 0;
  let ok = 0;
  let failed = 0;
  try {
    await start();
    const until = Date.now() + SECONDS * 1_000;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      let orderId: string | undefined;
      for (let n = 0; Date.now() < until; n++) {
        const url = service?.url;
        if (!url) {
          await sleep(50);
          continue;
        }
        if (!orderId || n % 40 === 0) {
          // A rejected call: the process is down or was killed mid-request (the write may or may not have committed).
          const r = await call(url, 'POST', '/orders', { customerId: `soak-${w}` }).catch(() => undefined);
          orderId = r?.status === 201 ? r.body.order?.orderId : undefined;
          if (orderId) ok++;
          else failed++;
        } else {
          const r = await call(url, 'POST', `/orders/${orderId}/items`, { sku: `s${n % 50}`, quantity: 1, unitPriceCents: 100 }).catch(() => undefined);
          if (r?.status === 200) ok++;
          else {
            failed++;
            if (!r) await sleep(50);
          }
        }
      }
    });
    const txWriters = Array.from({ length: TX_WRITERS }, async (_, w) => {
      const streamId = `soak-tx-${w}-${Date.now()}`;
      for (let version = 0; Date.now() < until; ) {
        const client = await t.db.connect();
        try {
          await client.query('BEGIN');
          await appendToStream(client, streamId, 'order', version, [version === 0 ? { type: 'OrderCreated', data: { customerId: `tx-${w}` } } : { type: 'ItemAdded', data: { sku: 'tx', quantity: 1, unitPriceCents: 1 } }]);
          await sleep(Math.random() * 100); // held open: the relay idles, confirms keepalives, and the COMMIT lands later
          await client.query('COMMIT');
          version++;
          ok++;
        } catch {
          await client.query('ROLLBACK').catch(() => undefined);
          failed++;
        } finally {
          client.release();
        }
      }
    });
    const killer = (async () => {
      while (Date.now() < until - KILL_EVERY_MS) {
        await sleep(KILL_EVERY_MS * (0.5 + Math.random()));
        const victim = service;
        service = undefined;
        await victim?.kill('SIGKILL');
        kills++;
        await sleep(RESTART_DELAY_MS);
        await start();
      }
    })();
    await Promise.all([...writers, ...txWriters, killer]);

    const { rows } = await t.db.query<{ event_id: string }>('SELECT event_id::text FROM events');
    const committed = new Set(rows.map((r) => r.event_id));
    await waitFor(async () => {
      const { rows: slot } = await t.db.query<{ lag: string }>(
        'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag FROM pg_replication_slots WHERE slot_name = $1',
        [t.slot],
      );
      return Number(slot[0]?.lag ?? 1) <= 0 || (await topicIds(t.topic)).distinct.size >= committed.size;
    }, 'the relay drained the slot', 120_000).catch(() => undefined);
    const seen = await topicIds(t.topic);
    const missing = [...committed].filter((id) => !seen.distinct.has(id));
    const unknown = [...seen.distinct].filter((id) => !committed.has(id));
    const duplicates = seen.messages - seen.distinct.size;
    console.log(
      JSON.stringify(
        { seconds: SECONDS, writers: WRITERS, txWriters: TX_WRITERS, kills, requestsOk: ok, requestsFailed: failed, committedEvents: committed.size, topicMessages: seen.messages, distinctOnTopic: seen.distinct.size, duplicates, missing: missing.length, unknown: unknown.length },
        null,
        2,
      ),
    );
    if (missing.length > 0) {
      const { rows: lost } = await t.db.query('SELECT event_id, stream_id, version, type, recorded_at FROM events WHERE event_id = ANY($1::uuid[]) ORDER BY id LIMIT 20', [missing]);
      console.error('committed events missing from the topic:', lost);
      process.exitCode = 1;
    } else if (unknown.length > 0) {
      console.error('ids on the topic that no committed event has:', unknown.slice(0, 20));
      process.exitCode = 1;
    } else {
      console.log(`ok: all ${committed.size} committed events on the topic after ${kills} kills (${duplicates} duplicates, same ids)`);
    }
  } finally {
    await service?.stop().catch(() => undefined);
    await t.cleanup();
  }
}

/** Every CloudEvents id on the topic, read from the beginning by a plain kafkajs consumer until it is caught up. */
async function topicIds(topic: string): Promise<{ messages: number; distinct: Set<string> }> {
  const kafka = new kafkajs.Kafka({ clientId: 'soak-reader', brokers: process.env.BULWARK_KAFKA_BROKERS!.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const target = new Map(ends.map((p) => [p.partition, Number(p.high)]));
  const consumer = kafka.consumer({ groupId: `soak-reader-${process.pid}-${Date.now()}` });
  const distinct = new Set<string>();
  let messages = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    const reached = new Map<number, number>();
    const check = () => {
      if ([...target].every(([p, high]) => (reached.get(p) ?? 0) >= high)) resolve();
    };
    check();
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        messages++;
        const id = message.headers?.ce_id?.toString();
        if (id) distinct.add(id);
        reached.set(partition, Number(message.offset) + 1);
        check();
      },
    });
  });
  await done;
  await consumer.disconnect();
  return { messages, distinct };
}
