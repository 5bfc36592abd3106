/**
 * The event producer: validates data against its schema, wraps it in a
 * CloudEvents envelope with the caller's trace context, and sends it with an
 * idempotent kafkajs producer (acks=all), keyed by aggregate id so one
 * aggregate's events stay in order on one partition. Publishes within
 * `lingerMs` are sent as one batch, and only one batch is in flight at a
 * time, which keeps per-key order across batches as well.
 */
import type { Logger } from '@bulwark/service-kit/logging';
import { randomUUID } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { toKafkaRecord, JSON_CONTENT_TYPE, SPEC_VERSION, type CloudEvent } from './envelope.ts';
import { ProducerClosedError, PublishFailedError } from './errors.ts';
import { rawIdempotentProducer, type EventsKafka, type RawProducer } from './kafka.ts';
import { metricsFor } from './metrics.ts';
import type { EventDefinition, EventRegistry } from './registry.ts';
import { endSpan, startPublishSpan } from './trace.ts';

export interface ProducerOptions {
  kafka: EventsKafka;
  /** Every definition this producer may publish. */
  schemas: EventRegistry;
  /** CloudEvents `source` of every event, e.g. `/bulwark/orders`. */
  source: string;
  /** prom-client registry for the producer metrics. */
  registry: Registry;
  log?: Logger;
  /** How long a publish waits for others to share its batch; default 5 ms (0 = next tick). */
  lingerMs?: number;
  /** Events per batch; a full batch is sent at once. Default 500. */
  maxBatchSize?: number;
}

export interface PublishOptions {
  /** Aggregate id: Kafka key (partition and order) and CloudEvents `subject`. */
  key: string;
  /** Default a random UUID. Reuse an id only to re-publish the same event. */
  id?: string;
  /** Occurrence time; default now. */
  time?: Date;
}

export interface EventProducer {
  /**
   * Publishes one event and resolves with its envelope once Kafka has it
   * (acks=all). Throws EventDecodeError when `data` fails its schema,
   * PublishFailedError when the batch failed, ProducerClosedError after close().
   */
  publish<TData>(topic: string, definition: EventDefinition<string, TData>, data: NoInfer<TData>, options: PublishOptions): Promise<CloudEvent<TData>>;
  /** Sends what is waiting now and resolves when it is acknowledged. */
  flush(): Promise<void>;
  /** Flushes, then disconnects. Idempotent. */
  close(): Promise<void>;
}

interface Pending {
  topic: string;
  event: CloudEvent;
  span: Span;
  resolve(): void;
  reject(err: unknown): void;
}

/** Counts a batch per (topic, type) so a counter is bumped once per label set, not once per event. */
function countPerLabels(batch: readonly Pending[], inc: (labels: { topic: string; type: string }, n: number) => void): void {
  const counts = new Map<string, { labels: { topic: string; type: string }; n: number }>();
  for (const item of batch) {
    const key = `${item.topic}\u0000${item.event.type}`;
    const entry = counts.get(key);
    if (entry) entry.n++;
    else counts.set(key, { labels: { topic: item.topic, type: item.event.type }, n: 1 });
  }
  for (const { labels, n } of counts.values()) inc(labels, n);
}

export function createProducer(options: ProducerOptions): EventProducer {
  const log = options.log ?? options.kafka.log;
  const metrics = metricsFor(options.registry);
  const lingerMs = options.lingerMs ?? 5;
  const maxBatchSize = options.maxBatchSize ?? 500;
  let raw: RawProducer | undefined;
  let connecting: Promise<RawProducer> | undefined;
  let pending: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> | undefined;
  let closed = false;

  const connect = (): Promise<RawProducer> => {
    connecting ??= (async () => {
      const producer = rawIdempotentProducer(options.kafka);
      await producer.connect();
      raw = producer;
      return producer;
    })().catch((err: unknown) => {
      connecting = undefined;
      throw err;
    });
    return connecting;
  };

  /** Sends one batch; false when it failed (its publishes are rejected). */
  const sendBatch = async (batch: Pending[]): Promise<boolean> => {
    const byTopic = new Map<string, { key: string | null; value: string | Buffer | null; headers: Record<string, string> }[]>();
    for (const item of batch) {
      let messages = byTopic.get(item.topic);
      if (!messages) byTopic.set(item.topic, (messages = []));
      messages.push(toKafkaRecord(item.event));
    }
    const started = performance.now();
    try {
      const producer = await connect();
      await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      metrics.sendDuration.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
      metrics.batchSize.observe(batch.length);
      countPerLabels(batch, (labels, n) => metrics.produced.inc(labels, n));
      for (const item of batch) {
        endSpan(item.span);
        item.resolve();
      }
      return true;
    } catch (err) {
      // Start over with a new idempotent producer (new producer id, sequences from 0): after a broker crash the old one's
      // sequence state can be refused forever (out-of-order sequence / unknown producer id) and kafkajs does not reset it.
      const broken = raw;
      raw = undefined;
      connecting = undefined;
      void broken?.disconnect().catch(() => undefined);
      metrics.sendDuration.observe({ outcome: 'error' }, (performance.now() - started) / 1000);
      log.error({ err, events: batch.length }, 'event batch not acknowledged');
      const failure = new PublishFailedError(`batch of ${batch.length} events not acknowledged: ${err instanceof Error ? err.message : String(err)}`, err);
      countPerLabels(batch, (labels, n) => metrics.produceErrors.inc(labels, n));
      for (const item of batch) {
        endSpan(item.span, err);
        item.reject(failure);
      }
      return false;
    }
  };

  const drain = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending.splice(0, maxBatchSize);
      if (await sendBatch(batch)) continue;
      // Publishes queued behind a failed batch fail with it, unsent: sending them would put an aggregate's later events on
      // Kafka before the earlier ones its caller is about to retry (per-key order across a broker outage).
      const behind = pending;
      pending = [];
      const failure = new PublishFailedError(`not sent: an earlier batch failed (${behind.length} events)`, undefined);
      countPerLabels(behind, (labels, n) => metrics.produceErrors.inc(labels, n));
      for (const item of behind) {
        endSpan(item.span, failure);
        item.reject(failure);
      }
    }
  };

  const kick = (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    sending ??= drain().finally(() => {
      sending = undefined;
      // Publishes that arrived after the drain's last look.
      if (pending.length > 0) schedule();
    });
    return sending;
  };

  const schedule = (): void => {
    if (sending) return; // the running drain picks new events up
    if (pending.length >= maxBatchSize) void kick();
    else timer ??= setTimeout(() => void kick(), lingerMs);
  };

  return {
    publish(topic, definition, data, publishOptions) {
      if (closed) return Promise.reject(new ProducerClosedError());
      let parsed: unknown;
      try {
        parsed = options.schemas.encode(definition, data);
      } catch (err) {
        return Promise.reject(err);
      }
      const { span, headers } = startPublishSpan(definition.type, topic);
      const event: CloudEvent = {
        specversion: SPEC_VERSION,
        id: publishOptions.id ?? randomUUID(),
        source: options.source,
        type: definition.type,
        subject: publishOptions.key,
        time: (publishOptions.time ?? new Date()).toISOString(),
        datacontenttype: JSON_CONTENT_TYPE,
        dataschema: definition.dataschema,
        dataversion: definition.version,
        traceparent: headers.traceparent,
        tracestate: headers.tracestate,
        data: parsed,
      };
      return new Promise((resolve, reject) => {
        pending.push({ topic, event, span, resolve: () => resolve(event as CloudEvent<never>), reject });
        schedule();
      });
    },
    async flush() {
      while (pending.length > 0 || sending) await kick();
    },
    async close() {
      if (closed) return;
      closed = true;
      while (pending.length > 0 || sending) await kick();
      const producer = raw ?? (connecting ? await connecting.catch(() => undefined) : undefined);
      await producer?.disconnect();
    },
  };
}
