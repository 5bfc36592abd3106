import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  createConsumer,
  createEventRegistry,
  deadLetterTopicName,
  defineEvent,
  handle,
  replayDeadLetters,
  RETRY_HEADERS,
  retryTopicName,
  type DeadLetter,
} from '../src/index.ts';
import { OrderPlaced, schemas } from './events.ts';
import { metricValue, setupEnv, waitFor, type TestEnv } from './support.ts';

let env: TestEnv;
beforeEach(async () => {
  env = await setupEnv();
});
afterEach(async () => {
  await env.cleanup();
});

async function effects(env: TestEnv): Promise<{ order_id: string; n: number }[]> {
  const { rows } = await env.pool.query<{ order_id: string; n: number }>(`SELECT order_id, count(*)::int AS n FROM "${env.schema}".effects GROUP BY order_id ORDER BY order_id`);
  return rows;
}

describe('retries and dead letters', () => {
  it('when a handler throws once, then the event comes back through the retry topic, succeeds, and has exactly one business effect', async () => {
    const topic = env.topic('orders');
    const group = env.group('retry-once');
    await env.createTopics([{ name: topic, partitions: 1 }]);
    await env.pool.query(`CREATE TABLE "${env.schema}".effects (order_id text NOT NULL)`);
    const producer = env.producer(schemas);

    const attempts: number[] = [];
    const consumer = createConsumer({
      ...env.consumerBase(group, [topic]),
      schemas,
      retry: { delaysMs: [300, 600] },
      handlers: [
        handle(OrderPlaced, async (event, ctx) => {
          attempts.push(ctx.attempt);
          // The business write happens before the failure: the rollback must undo it.
          await ctx.db.query(`INSERT INTO "${env.schema}".effects (order_id) VALUES ($1)`, [event.data.orderId]);
          if (ctx.attempt === 1) throw new Error('payment service unavailable');
        }),
      ],
    });
    env.defer(() => consumer.stop());
    await consumer.start();
    expect(consumer.subscribedTopics).toEqual([topic, retryTopicName(topic, group, 1), retryTopicName(topic, group, 2)]);

    const event = await producer.publish(topic, OrderPlaced, { orderId: 'o-1', seq: 1 }, { key: 'o-1' });
    await waitFor(async () => (await metricValue(env.registry, 'events_consumed_total', { group, outcome: 'handled' })) === 1, 'handled after retry');

    expect(attempts).toEqual([1, 2]);
    expect(await effects(env)).toEqual([{ order_id: 'o-1', n: 1 }]);
    const { rows } = await env.pool.query(`SELECT event_id FROM "${env.schema}".processed_events WHERE consumer_group = $1`, [group]);
    expect(rows).toEqual([{ event_id: event.id }]);
    expect(await metricValue(env.registry, 'events_consumed_total', { group, outcome: 'retried' })).toBe(1);

    // Publishing the same event again (same id) is a redelivery: no second effect.
    await producer.publish(topic, OrderPlaced, { orderId: 'o-1', seq: 1 }, { key: 'o-1', id: event.id });
    await waitFor(async () => (await metricValue(env.registry, 'events_consumed_total', { group, outcome: 'duplicate' })) === 1, 'duplicate skipped');
    expect(await effects(env)).toEqual([{ order_id: 'o-1', n: 1 }]);
  });

  it('when a handler keeps failing, then the event lands in the dead-letter topic with the reason after N attempts, and replay brings it back', async () => {
    const topic = env.topic('orders');
    const group = env.group('poison');
    await env.createTopics([{ name: topic, partitions: 2 }]);
    await env.pool.query(`CREATE TABLE "${env.schema}".effects (order_id text NOT NULL)`);
    const producer = env.producer(schemas);

    let broken = true;
    const attempts: number[] = [];
    const consumer = createConsumer({
      ...env.consumerBase(group, [topic]),
      schemas,
      retry: { delaysMs: [100, 200], maxAttempts: 3 },
      handlers: [
        handle(OrderPlaced, async (event, ctx) => {
          if (event.data.orderId === 'poison') attempts.push(ctx.attempt);
          if (broken && event.data.orderId === 'poison') throw new TypeError(`cannot price order ${event.data.orderId}`);
          await ctx.db.query(`INSERT INTO "${env.schema}".effects (order_id) VALUES ($1)`, [event.data.orderId]);
        }),
      ],
    });
    env.defer(() => consumer.stop());
    await consumer.start();

    const poison = await producer.publish(topic, OrderPlaced, { orderId: 'poison', seq: 1 }, { key: 'poison' });
    await producer.publish(topic, OrderPlaced, { orderId: 'fine', seq: 1 }, { key: 'fine' });
    await waitFor(async () => (await metricValue(env.registry, 'events_consumed_total', { group, outcome: 'dead_lettered' })) === 1, 'dead-lettered');
    expect(attempts).toEqual([1, 2, 3]);
    expect(await effects(env)).toEqual([{ order_id: 'fine', n: 1 }]);

    // Inspect the dead letter without replaying it.
    const letters: DeadLetter[] = [];
    const dry = await replayDeadLetters({ kafka: env.kafka, topic, group, dryRun: true, filter: (l) => letters.push(l) > 0 });
    expect(dry).toEqual({ deadLetterTopic: deadLetterTopicName(topic, group), scanned: 1, replayed: 1 });
    const [letter] = letters;
    expect(letter?.event?.id).toBe(poison.id);
    expect(letter?.reason).toBe('cannot price order poison');
    expect(letter?.attempt).toBe(3);
    expect(letter?.originalTopic).toBe(topic);
    expect(letter?.originalPartition).toEqual(expect.any(Number));
    expect(letter?.originalOffset).toBe('0');
    expect(letter?.headers[RETRY_HEADERS.errorName]).toBe('TypeError');
    expect(letter?.headers[RETRY_HEADERS.errorStack]).toContain('cannot price order poison');
    expect(letter?.headers[RETRY_HEADERS.group]).toBe(group);
    expect(letter?.headers.ce_type).toBe(OrderPlaced.type);

    // A filter that matches nothing replays nothing.
    expect(await replayDeadLetters({ kafka: env.kafka, topic, group, filter: (l) => l.event?.type === 'other' })).toMatchObject({ scanned: 1, replayed: 0 });

    broken = false;
    expect(await replayDeadLetters({ kafka: env.kafka, topic, group, filter: (l) => l.event?.type === OrderPlaced.type })).toMatchObject({ scanned: 1, replayed: 1 });
    await waitFor(async () => (await effects(env)).length === 2, 'replayed event handled');
    expect(await effects(env)).toEqual([
      { order_id: 'fine', n: 1 },
      { order_id: 'poison', n: 1 },
    ]);
    // Replayed as a first delivery on the original topic.
    expect(attempts.at(-1)).toBe(1);
  });

  it('when a message is not a readable event, then it is dead-lettered at once without retries', async () => {
    const topic = env.topic('orders');
    const group = env.group('garbage');
    await env.createTopics([{ name: topic, partitions: 1 }]);
    const consumer = createConsumer({
      ...env.consumerBase(group, [topic]),
      schemas,
      retry: { delaysMs: [100] },
      handlers: [handle(OrderPlaced, async () => undefined)],
    });
    env.defer(() => consumer.stop());
    await consumer.start();

    // Valid envelope, data that fails the consumer's schema: published under a looser definition of the same type.
    const Loose = defineEvent({ type: OrderPlaced.type, version: 1, schema: z.object({ orderId: z.string() }) });
    const loose = env.producer(createEventRegistry([Loose]));
    await loose.publish(topic, Loose, { orderId: 'no-seq' }, { key: 'no-seq' });

    await waitFor(async () => (await metricValue(env.registry, 'events_consumed_total', { group, outcome: 'dead_lettered' })) === 1, 'dead-lettered');
    expect(await metricValue(env.registry, 'events_consumed_total', { group, outcome: 'retried' })).toBe(0);
    const letters: DeadLetter[] = [];
    await replayDeadLetters({ kafka: env.kafka, topic, group, dryRun: true, filter: (l) => letters.push(l) > 0 });
    expect(letters[0]?.headers[RETRY_HEADERS.errorCode]).toBe('EVENTS_INVALID_DATA');
    expect(letters[0]?.attempt).toBe(1);
  });
});
