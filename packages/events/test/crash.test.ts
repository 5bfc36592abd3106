import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createConsumer, fetchConsumerLag, handle } from '../src/index.ts';
import { OrderPlaced, schemas } from './events.ts';
import { metricValue, setupEnv, waitFor, type TestEnv } from './support.ts';

let env: TestEnv;
beforeEach(async () => {
  env = await setupEnv();
});
afterEach(async () => {
  await env.cleanup();
});

function startChild(vars: Record<string, string>): ChildProcess {
  const script = fileURLToPath(new URL('./fixtures/crash-consumer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', script], {
    env: { ...process.env, ...vars },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return child;
}

describe('crash between handling and committing', () => {
  it('when a consumer is killed mid-batch, then the redelivered events are deduplicated by the processed-event store', async () => {
    const topic = env.topic('orders');
    const group = env.group('crash');
    await env.createTopics([{ name: topic, partitions: 1 }]);
    await env.pool.query(`CREATE TABLE "${env.schema}".effects (order_id text NOT NULL, seq int NOT NULL)`);
    const producer = env.producer(schemas);
    const total = 20;
    const crashAt = 10;
    await Promise.all(Array.from({ length: total }, (_, seq) => producer.publish(topic, OrderPlaced, { orderId: `o-${seq}`, seq }, { key: 'one-aggregate' })));

    const child = startChild({ CRASH_TOPIC: topic, CRASH_GROUP: group, CRASH_SCHEMA: env.schema, CRASH_AT: String(crashAt) });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    env.defer(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    const countEffects = async () => (await env.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${env.schema}".effects`)).rows[0]?.n ?? 0;
    await waitFor(async () => (await countEffects()) === crashAt, 'child handled events up to the crash point');
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // Nothing (or less than what was handled) was committed: those events come again.
    const [before] = await fetchConsumerLag(env.admin, group, [topic]);
    const committed = before?.committedOffset ?? 0;
    expect(committed).toBeLessThan(crashAt);

    const consumer = createConsumer({
      ...env.consumerBase(group, [topic]),
      schemas,
      handlers: [
        handle(OrderPlaced, async (event, ctx) => {
          await ctx.db.query(`INSERT INTO "${env.schema}".effects (order_id, seq) VALUES ($1, $2)`, [event.data.orderId, event.data.seq]);
        }),
      ],
    });
    env.defer(() => consumer.stop());
    await consumer.start();

    await waitFor(async () => (await countEffects()) === total, 'all events handled once', 45_000);
    await waitFor(
      async () => (await metricValue(env.registry, 'events_consumed_total', { group, outcome: 'handled' })) + (await metricValue(env.registry, 'events_consumed_total', { group, outcome: 'duplicate' })) === total - committed,
      'redeliveries seen',
    );
    expect(await metricValue(env.registry, 'events_consumed_total', { group, outcome: 'duplicate' })).toBe(crashAt - committed);
    const { rows } = await env.pool.query<{ seq: number; n: number }>(`SELECT seq, count(*)::int AS n FROM "${env.schema}".effects GROUP BY seq ORDER BY seq`);
    expect(rows).toEqual(Array.from({ length: total }, (_, seq) => ({ seq, n: 1 })));
  });
});
