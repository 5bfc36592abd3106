import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createConsumer, fetchConsumerLag, handle } from '../src/index.ts';
import { OrderPlaced, schemas } from './events.ts';
import { setupEnv, waitFor, type TestEnv } from './support.ts';

let env: TestEnv;
beforeEach(async () => {
  env = await setupEnv();
});
afterEach(async () => {
  await env.cleanup();
});

describe('graceful shutdown', () => {
  it('when stop() is called while a handler runs, then that handler finishes, its offset is committed, and the rest of the batch is left for the next owner', async () => {
    const topic = env.topic('orders');
    const group = env.group('shutdown');
    await env.createTopics([{ name: topic, partitions: 1 }]);
    const producer = env.producer(schemas);
    await Promise.all(Array.from({ length: 5 }, (_, seq) => producer.publish(topic, OrderPlaced, { orderId: `o-${seq}`, seq }, { key: 'k' })));

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    const finished: number[] = [];
    const consumer = createConsumer({
      ...env.consumerBase(group, [topic]),
      schemas,
      handlers: [
        handle(OrderPlaced, async (event) => {
          entered = true;
          await gate;
          finished.push(event.data.seq);
        }),
      ],
    });
    await consumer.start();
    await waitFor(() => entered, 'first handler running');

    const stopped = consumer.stop();
    release();
    await stopped;

    expect(finished).toEqual([0]);
    expect(await fetchConsumerLag(env.admin, group, [topic])).toEqual([{ topic, partition: 0, highWatermark: 5, committedOffset: 1, lag: 4 }]);
  });
});
