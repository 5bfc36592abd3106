import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createConsumer, fetchConsumerLag, handle, provisionTopics } from '../src/index.ts';
import { OrderPlaced, schemas } from './events.ts';
import { metricValue, setupEnv, waitFor, type TestEnv } from './support.ts';

let env: TestEnv;
beforeEach(async () => {
  env = await setupEnv();
});
afterEach(async () => {
  await env.cleanup();
});

describe('topic provisioning', () => {
  it('when the declared list is applied twice, then the second run changes nothing; when it grows, then partitions rise and configs change', async () => {
    const events = env.topic('orders');
    const state = env.topic('order-state');
    const list = [
      { name: events, partitions: 2, retentionMs: 86_400_000, cleanupPolicy: 'delete' as const },
      { name: state, partitions: 1, cleanupPolicy: 'compact' as const },
    ];

    const first = await provisionTopics(env.admin, list);
    expect(first.created.sort()).toEqual([state, events].sort());
    const second = await provisionTopics(env.admin, list);
    expect(second).toEqual({ created: [], partitionsRaised: [], configsAltered: [], warnings: [] });

    const described = await env.admin.describeTopics([events, state]);
    expect(described.find((t) => t.name === events)).toEqual({ name: events, partitions: 2, configs: { 'retention.ms': '86400000', 'cleanup.policy': 'delete' } });
    expect(described.find((t) => t.name === state)).toEqual({ name: state, partitions: 1, configs: { 'cleanup.policy': 'compact' } });

    const grown = await provisionTopics(env.admin, [
      { name: events, partitions: 4, retentionMs: 3_600_000, cleanupPolicy: 'delete' },
      { name: state, partitions: 1, cleanupPolicy: 'compact', configs: { 'min.compaction.lag.ms': '1000' } },
    ]);
    expect(grown.created).toEqual([]);
    expect(grown.partitionsRaised).toEqual([{ topic: events, from: 2, to: 4 }]);
    expect(grown.configsAltered.sort((a, b) => a.topic.localeCompare(b.topic))).toEqual(
      [
        { topic: events, keys: ['retention.ms'] },
        { topic: state, keys: ['min.compaction.lag.ms'] },
      ].sort((a, b) => a.topic.localeCompare(b.topic)),
    );
    // The broker applies config changes through the KRaft metadata log: read until they show.
    let after = await env.admin.describeTopics([events, state]);
    await waitFor(async () => {
      after = await env.admin.describeTopics([events, state]);
      return after.find((t) => t.name === events)?.configs['retention.ms'] === '3600000' && after.find((t) => t.name === state)?.configs['min.compaction.lag.ms'] === '1000';
    }, 'altered configs visible');
    expect(after.find((t) => t.name === events)).toEqual({ name: events, partitions: 4, configs: { 'retention.ms': '3600000', 'cleanup.policy': 'delete' } });
    // Keys set earlier survive an alter that does not mention them.
    expect(after.find((t) => t.name === state)?.configs).toEqual({ 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '1000' });

    const shrink = await provisionTopics(env.admin, [{ name: events, partitions: 1, retentionMs: 3_600_000, cleanupPolicy: 'delete' }]);
    expect(shrink.partitionsRaised).toEqual([]);
    expect(shrink.warnings).toHaveLength(1);
  });
});

describe('consumer lag', () => {
  it('when events wait unconsumed, then the lag gauge counts them; when they are handled and the consumer stops, then it reads zero', async () => {
    const topic = env.topic('orders');
    const group = env.group('lag');
    await env.createTopics([{ name: topic, partitions: 1 }]);
    const producer = env.producer(schemas);
    await Promise.all(Array.from({ length: 5 }, (_, seq) => producer.publish(topic, OrderPlaced, { orderId: `o-${seq}`, seq }, { key: 'k' })));

    // A group that never committed lags by everything in the topic.
    expect(await fetchConsumerLag(env.admin, group, [topic])).toEqual([{ topic, partition: 0, highWatermark: 5, committedOffset: 0, lag: 5 }]);

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let handled = 0;
    const consumer = createConsumer({
      ...env.consumerBase(group, [topic]),
      lagIntervalMs: 100,
      schemas,
      handlers: [
        handle(OrderPlaced, async () => {
          await gate;
          handled++;
        }),
      ],
    });
    env.defer(() => consumer.stop());
    await consumer.start();

    const lagGauge = () => metricValue(env.registry, 'events_consumer_lag', { group, topic, partition: '0' });
    await waitFor(async () => (await lagGauge()) === 5, 'lag gauge shows the 5 waiting events');
    release();
    await waitFor(() => handled === 5, 'events handled');
    await waitFor(async () => (await lagGauge()) === 0, 'lag gauge drops to zero once committed');
    await consumer.stop();
    expect(await fetchConsumerLag(env.admin, group, [topic])).toEqual([{ topic, partition: 0, highWatermark: 5, committedOffset: 5, lag: 0 }]);
  });
});
