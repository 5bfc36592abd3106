import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createConsumer, handle, type CloudEvent } from '../src/index.ts';
import { OrderPlaced, PaymentCapturedV1, PaymentCapturedV2, schemas } from './events.ts';
import { metricValue, setupEnv, waitFor, type TestEnv } from './support.ts';

// A real SDK tracer provider exporting to memory (the SDK, not infrastructure).
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
trace.setGlobalTracerProvider(provider);
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
afterAll(() => {
  contextManager.disable();
});

let env: TestEnv;
beforeEach(async () => {
  env = await setupEnv();
});
afterEach(async () => {
  await env.cleanup();
});

describe('publish and consume', () => {
  it('when an event is published inside a span, then the consumer handles it as a CloudEvent inside a child span of the same trace', async () => {
    const topic = env.topic('orders');
    await env.createTopics([{ name: topic, partitions: 1 }]);
    const producer = env.producer(schemas);

    const seen: { event: CloudEvent<{ orderId: string; seq: number }>; traceId: string | undefined; attempt: number; db: boolean }[] = [];
    const consumer = createConsumer({
      ...env.consumerBase(env.group('round-trip'), [topic]),
      schemas,
      handlers: [
        handle(OrderPlaced, async (event, ctx) => {
          const { rows } = await ctx.db.query<{ one: number }>('SELECT 1 AS one');
          seen.push({ event, traceId: trace.getActiveSpan()?.spanContext().traceId, attempt: ctx.attempt, db: rows[0]?.one === 1 });
        }),
      ],
    });
    env.defer(() => consumer.stop());
    await consumer.start();

    const tracer = trace.getTracer('test');
    const { published, requestTraceId } = await tracer.startActiveSpan('POST /orders', async (span) => {
      const published = await producer.publish(topic, OrderPlaced, { orderId: 'o-1', seq: 1 }, { key: 'o-1' });
      span.end();
      return { published, requestTraceId: span.spanContext().traceId };
    });

    await waitFor(() => seen.length === 1, 'event handled');
    const [got] = seen;
    expect(got?.event).toEqual(
      expect.objectContaining({
        specversion: '1.0',
        id: published.id,
        source: '/bulwark/test',
        type: 'com.bulwark.test.order-placed',
        subject: 'o-1',
        time: published.time,
        datacontenttype: 'application/json',
        dataversion: 1,
        data: { orderId: 'o-1', seq: 1 },
      }),
    );
    expect(got?.event.traceparent).toMatch(new RegExp(`^00-${requestTraceId}-[0-9a-f]{16}-01$`));
    expect(got?.traceId).toBe(requestTraceId);
    expect(got?.attempt).toBe(1);
    expect(got?.db).toBe(true);

    await waitFor(() => exporter.getFinishedSpans().some((s) => s.name.startsWith('process ')), 'consumer span ended');
    const spans = exporter.getFinishedSpans();
    const publishSpan = spans.find((s) => s.name === 'publish com.bulwark.test.order-placed');
    const processSpan = spans.find((s) => s.name === 'process com.bulwark.test.order-placed');
    expect(publishSpan?.spanContext().traceId).toBe(requestTraceId);
    expect(processSpan?.spanContext().traceId).toBe(requestTraceId);
    expect(processSpan?.parentSpanContext?.spanId).toBe(publishSpan?.spanContext().spanId);

    expect(await metricValue(env.registry, 'events_produced_total', { topic, type: OrderPlaced.type })).toBe(1);
    expect(await metricValue(env.registry, 'events_consumed_total', { topic, outcome: 'handled' })).toBe(1);
  });

  it('when many events for many keys are published, then each key is handled in publish order', async () => {
    const topic = env.topic('ordering');
    await env.createTopics([{ name: topic, partitions: 3 }]);
    const producer = env.producer(schemas, { lingerMs: 2, maxBatchSize: 50 });

    const keys = Array.from({ length: 12 }, (_, i) => `order-${i}`);
    const perKey = 25;
    const handled = new Map<string, number[]>();
    const consumer = createConsumer({
      ...env.consumerBase(env.group('ordering'), [topic]),
      schemas,
      partitionsConsumedConcurrently: 3,
      handlers: [
        handle(OrderPlaced, async (event) => {
          const list = handled.get(event.data.orderId) ?? [];
          list.push(event.data.seq);
          handled.set(event.data.orderId, list);
        }),
      ],
    });
    env.defer(() => consumer.stop());
    await consumer.start();

    // Publish without awaiting in between: batching must not reorder a key.
    const sends: Promise<unknown>[] = [];
    for (let seq = 0; seq < perKey; seq++) for (const key of keys) sends.push(producer.publish(topic, OrderPlaced, { orderId: key, seq }, { key }));
    await Promise.all(sends);

    const total = () => [...handled.values()].reduce((n, l) => n + l.length, 0);
    await waitFor(() => total() === keys.length * perKey, 'all events handled');
    const expected = Array.from({ length: perKey }, (_, i) => i);
    for (const key of keys) expect(handled.get(key)).toEqual(expected);
    // Batched: fewer sends than events.
    expect(await metricValue(env.registry, 'events_producer_batch_size_count')).toBeLessThan(keys.length * perKey);
  });

  it('when a handler has a prepare step, then it runs before the transaction opens (no transaction of the consumer is open while it waits) and its result reaches the handler', async () => {
    const topic = env.topic('prepare');
    await env.createTopics([{ name: topic, partitions: 1 }]);
    const producer = env.producer(schemas);
    // Transactions of the consumer's pool other than the statement asking.
    const openTransactions = async (): Promise<number> =>
      (await env.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = current_setting('application_name') AND xact_start IS NOT NULL AND pid <> pg_backend_pid()")).rows[0]!.n;
    const seen: { prepared: string; attempt: number; inPrepare: number; inHandler: number }[] = [];
    let inPrepare = -1;
    const consumer = createConsumer({
      ...env.consumerBase(env.group('prepare'), [topic]),
      schemas,
      handlers: [
        handle<{ orderId: string; seq: number }, string>(
          OrderPlaced,
          async (event, ctx) => {
            // The handler's own transaction is open now: the same question counts it.
            const { rows } = await ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = current_setting('application_name') AND xact_start IS NOT NULL");
            seen.push({ prepared: ctx.prepared, attempt: ctx.attempt, inPrepare, inHandler: rows[0]!.n });
          },
          {
            prepare: async (event, ctx) => {
              inPrepare = await openTransactions();
              return `looked up ${event.data.orderId} on attempt ${ctx.attempt}`;
            },
          },
        ),
      ],
    });
    env.defer(() => consumer.stop());
    await consumer.start();
    await producer.publish(topic, OrderPlaced, { orderId: 'o-prep', seq: 1 }, { key: 'o-prep' });
    await waitFor(() => seen.length === 1, 'event handled');
    expect(seen).toEqual([{ prepared: 'looked up o-prep on attempt 1', attempt: 1, inPrepare: 0, inHandler: 1 }]);
  });

  it('when a v1 event is consumed by a v2 handler, then the handler receives the data upcast to v2', async () => {
    const topic = env.topic('payments');
    await env.createTopics([{ name: topic, partitions: 1 }]);
    const producer = env.producer(schemas, { source: '/bulwark/legacy' });

    const seen: CloudEvent<{ paymentId: string; amountCents: number; currency: string }>[] = [];
    const consumer = createConsumer({
      ...env.consumerBase(env.group('upcast'), [topic]),
      schemas,
      handlers: [handle(PaymentCapturedV2, async (event) => void seen.push(event))],
    });
    env.defer(() => consumer.stop());
    await consumer.start();

    await producer.publish(topic, PaymentCapturedV1, { paymentId: 'p-1', amount: 12.34 }, { key: 'p-1' });
    await producer.publish(topic, PaymentCapturedV2, { paymentId: 'p-2', amountCents: 500, currency: 'USD' }, { key: 'p-2' });

    await waitFor(() => seen.length === 2, 'both versions handled');
    expect(seen.map((e) => [e.dataversion, e.data])).toEqual([
      [2, { paymentId: 'p-1', amountCents: 1234, currency: 'EUR' }],
      [2, { paymentId: 'p-2', amountCents: 500, currency: 'USD' }],
    ]);
  });
});
