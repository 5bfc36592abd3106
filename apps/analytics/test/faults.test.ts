/**
 * A crash of the writer mid-stream: analytics as a real child process is
 * killed with SIGKILL while accepted events stream through the ingest topic;
 * a new process takes over the consumer group. Every event is stored exactly
 * once: a batch's rows and its offsets are not committed together, but a
 * batch whose transaction committed before the crash is redelivered and its
 * rows dropped by the primary key, one whose transaction did not is written
 * again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createKafka, createProducer, type EventProducer } from '@bulwark/events';
import { kafkaBrokers, silent, TEST_TENANT } from '@bulwark/test-support';
import { EventAccepted, analyticsEventSchemas } from '../src/events/analytics-events.ts';
import { setupAnalytics, waitFor, type TestAnalytics } from './support.ts';

const EVENTS = 20_000;
let t: TestAnalytics;
let producer: EventProducer;

beforeAll(async () => {
  t = await setupAnalytics();
  producer = createProducer({ kafka: createKafka({ brokers: kafkaBrokers(), clientId: `analytics-faults-${t.id}` }), schemas: analyticsEventSchemas, source: '/bulwark/analytics', registry: new Registry(), log: silent, maxBatchSize: 1_000 });
});

afterAll(async () => {
  await producer?.close();
  await t?.cleanup();
});

describe('the writer under a crash', () => {
  it('when the writer process is killed with SIGKILL mid-stream and another takes over, then every event is stored once, and counted once in the rollups', async () => {
    // Small fetches: many batches, so the kill lands between a batch's write and its offset commit or inside a write.
    const first = await t.spawn({ WRITER_MAX_BYTES: '65536' });
    const base = Date.now() - 60_000;
    let published = 0;
    let publishError: unknown;
    const publishing = (async () => {
      for (let from = 0; from < EVENTS; from += 1_000) {
        await Promise.all(
          Array.from({ length: 1_000 }, (_, j) => {
            const i = from + j;
            const event = { tenant: TEST_TENANT, id: `e-${i}`, type: 'click', occurredAt: new Date(base + i).toISOString(), userId: null, source: 'api', props: { target: `t-${i % 7}` } };
            return producer.publish(t.topics.ingest, EventAccepted, event, { key: `${TEST_TENANT}:${event.id}` });
          }),
        );
        published = from + 1_000;
      }
    })().catch((err: unknown) => void (publishError = err));
    await waitFor(async () => (await t.count()) >= 2_000, 'some events stored before the crash', 60_000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; stored ${await t.count()}, published ${published} ${String(publishError)}; writer output: ${first.output()}`);
    });
    expect(await first.kill('SIGKILL')).toBe(null);
    const atCrash = await t.count();
    await publishing;
    expect(publishError).toBeUndefined();
    expect(atCrash).toBeLessThan(EVENTS); // the crash came mid-stream
    await t.spawn();
    await waitFor(async () => (await t.count()) >= EVENTS, `all ${EVENTS} events stored after the crash (had ${atCrash})`, 120_000);
    const { rows } = await t.db.query<{ n: string; distinct: string }>('SELECT count(*) AS n, count(DISTINCT event_id) AS distinct FROM events');
    expect(rows[0]).toEqual({ n: String(EVENTS), distinct: String(EVENTS) });
    // The rollups are written in the raw insert's statement: neither the crash nor the redelivery counts an event twice or drops one.
    const rollup = await t.db.query<{ n: string }>("SELECT sum(n) AS n FROM event_rollups_hourly WHERE type = 'click' AND field = ''");
    expect(rollup.rows[0]).toEqual({ n: String(EVENTS) });
  }, 240_000);
});
