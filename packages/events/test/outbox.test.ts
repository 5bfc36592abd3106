import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createConsumer, createOutboxRelay, handle } from '../src/index.ts';
import { OrderPlaced, schemas } from './events.ts';
import { pgUrl, setupEnv, sleep, waitFor, type TestEnv } from './support.ts';

// The class of issue 24's lost CDC event, for the outbox relays (inventory, payments): a relay that
// remembered "published up to id N" would skip a row with a lower id that commits later, and a relay
// killed mid-batch must not lose the batch. createOutboxRelay claims rows by `published_at IS NULL`
// and marks them in the claiming transaction: these tests hold it to that.
let env: TestEnv;
let table: string;
beforeEach(async () => {
  env = await setupEnv();
  table = `"${env.schema}".outbox`;
  await env.pool.query(`CREATE TABLE ${table} (
    id bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE, order_id text NOT NULL, type text NOT NULL,
    data jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz)`);
});
afterEach(async () => {
  await env.cleanup();
});

const insertRow = (db: { query: (text: string, values: unknown[]) => Promise<unknown> }, seq: number, id = randomUUID()) =>
  db.query(`INSERT INTO ${table} (event_id, order_id, type, data) VALUES ($1, $2, 'OrderPlaced', $3)`, [id, `o-${seq % 5}`, { orderId: `o-${seq % 5}`, seq }]);

/** Every event id the topic holds, read by a consumer of the events package (dedup store off: all copies counted). */
async function readTopic(topic: string): Promise<{ ids: string[] }> {
  const ids: string[] = [];
  const consumer = createConsumer({
    ...env.consumerBase(env.group(`read-${randomUUID().slice(0, 6)}`), [topic]),
    schemas,
    handlers: [handle(OrderPlaced, async (event) => void ids.push(event.id))],
  });
  env.defer(() => consumer.stop());
  await consumer.start();
  return { ids };
}

describe('outbox relay (createOutboxRelay)', () => {
  it('when a row with a lower id commits after a higher one was published, then it is published too', async () => {
    const topic = env.topic('outbox-order');
    await env.createTopics([{ name: topic, partitions: 1 }]);
    const relay = createOutboxRelay({ pool: env.pool, producer: env.producer(schemas), topic, table: `${env.schema}.outbox`, events: { OrderPlaced }, batchSize: 10, pollIntervalMs: 10, log: env.log });
    const late = new pg.Client({ connectionString: pgUrl() });
    await late.connect();
    try {
      await late.query('BEGIN');
      const lateId = randomUUID();
      await insertRow(late, 0, lateId); // takes id 1, commits last
      await insertRow(env.pool, 1);
      relay.start();
      env.defer(() => relay.stop());
      const read = await readTopic(topic);
      await waitFor(() => read.ids.length === 1, 'the committed row on the topic');
      await late.query('COMMIT');
      await waitFor(() => read.ids.includes(lateId), 'the row that committed late, with the lower id, on the topic');
    } finally {
      await late.end();
    }
  });

  it('when the relay process is SIGKILLed again and again while rows keep coming, then every row reaches the topic (duplicates only under the same id)', async () => {
    const topic = env.topic('outbox-crash');
    await env.createTopics([{ name: topic, partitions: 3 }]);
    const script = fileURLToPath(new URL('./fixtures/outbox-relay.ts', import.meta.url));
    const startChild = () => {
      const child = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', script], {
        env: { ...process.env, OUTBOX_TOPIC: topic, OUTBOX_TABLE: `${env.schema}.outbox` },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      env.defer(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      });
      return { child, exited };
    };
    let writing = true;
    let written = 0;
    const writers = Array.from({ length: 4 }, async () => {
      while (writing) {
        await insertRow(env.pool, written++);
        await sleep(20);
      }
    });
    const published = async () => (await env.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE published_at IS NOT NULL`)).rows[0]!.n;
    for (let kill = 0; kill < 5; kill++) {
      const { child, exited } = startChild();
      const before = await published();
      await waitFor(async () => (await published()) > before + 20, `relay ${kill} published some rows`);
      child.kill('SIGKILL');
      await exited;
    }
    writing = false;
    await Promise.all(writers);
    startChild();
    await waitFor(async () => (await published()) === written, 'every row marked published');
    const { rows } = await env.pool.query<{ event_id: string }>(`SELECT event_id::text FROM ${table}`);
    const read = await readTopic(topic);
    await waitFor(() => new Set(read.ids).size >= rows.length, `all ${rows.length} rows on the topic`, 60_000);
    expect(new Set(read.ids)).toEqual(new Set(rows.map((r) => r.event_id)));
  }, 180_000);
});
