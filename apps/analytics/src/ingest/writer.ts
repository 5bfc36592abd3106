/**
 * The writer: Kafka → PostgreSQL. Reads the ingest topic and the platform
 * topics as one consumer group and writes each fetched batch (per partition)
 * in ONE transaction, then commits the batch's offsets. A crash before the
 * commit redelivers the batch: the rows of a transaction that did not commit
 * are not there, those of one that did are dropped by the primary key
 * (ON CONFLICT DO NOTHING). Nothing is lost, nothing stored twice.
 */
import type { Logger } from '@bulwark/service-kit/logging';
import { Counter, Gauge, type Registry } from 'prom-client';
import { withSystemContext, withTransaction, type DbPool } from '@bulwark/db';
import { fromKafkaRecord, headersToStrings, rawConsumer, type EventsKafka } from '@bulwark/events';
import type { AnalyticsEvent } from '../domain/event-types.ts';
import { insertEvents } from '../store/event-store.ts';
import { mapPlatformEvent } from './platform-events.ts';

export interface WriterOptions {
  kafka: EventsKafka;
  pool: DbPool;
  group: string;
  ingestTopic: string;
  platformTopics: readonly string[];
  fallbackTenant: string | undefined;
  maxBytesPerPartition: number;
  /** Called when a write fails because a day has no partition yet (creates them); the batch is retried. */
  onMissingPartition: () => Promise<void>;
  registry: Registry;
  log: Logger;
  /** Test timings for joins and fetches. */
  timings?: { sessionTimeoutMs?: number; rebalanceTimeoutMs?: number; heartbeatIntervalMs?: number; maxWaitTimeMs?: number };
}

export interface Writer {
  start(): Promise<void>;
  stop(): Promise<void>;
}

const getOrCreate = <T>(registry: Registry, name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();

/** The ingest topic's value: an accepted event (written by the API, already validated). */
function ingestEventOf(value: Buffer | null): AnalyticsEvent | undefined {
  if (!value) return undefined;
  const e = JSON.parse(value.toString('utf8')) as AnalyticsEvent;
  return typeof e.tenant === 'string' && typeof e.id === 'string' && typeof e.occurredAt === 'string' ? e : undefined;
}

export function createWriter(options: WriterOptions): Writer {
  const { log, pool } = options;
  const t = options.timings ?? {};
  const rows = getOrCreate(options.registry, 'analytics_writer_events_total', () => new Counter({ name: 'analytics_writer_events_total', help: 'Events read by the writer, by outcome (stored, duplicate, skipped-<reason>).', labelNames: ['outcome'], registers: [options.registry] }));
  const lag = getOrCreate(options.registry, 'analytics_writer_lag_events', () => new Gauge({ name: 'analytics_writer_lag_events', help: 'Events behind the high watermark after the last written batch, per topic and partition (ingestion lag).', labelNames: ['topic', 'partition'], registers: [options.registry] }));
  const consumer = rawConsumer(options.kafka, {
    groupId: options.group,
    maxBytesPerPartition: options.maxBytesPerPartition,
    sessionTimeout: t.sessionTimeoutMs ?? 30_000,
    rebalanceTimeout: t.rebalanceTimeoutMs ?? 60_000,
    heartbeatInterval: t.heartbeatIntervalMs ?? 3_000,
    maxWaitTimeInMs: t.maxWaitTimeMs ?? 500,
  });
  let running = false;

  const decode = (topic: string, message: { key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown> }): AnalyticsEvent | undefined => {
    try {
      if (topic === options.ingestTopic) return ingestEventOf(message.value);
      const ce = fromKafkaRecord({ key: message.key?.toString('utf8') ?? null, value: message.value, headers: headersToStrings(message.headers) });
      const mapped = mapPlatformEvent(topic, ce, options.fallbackTenant);
      if ('skip' in mapped) {
        rows.inc({ outcome: `skipped-${mapped.skip}` });
        return undefined;
      }
      return mapped.event;
    } catch (err) {
      rows.inc({ outcome: 'skipped-undecodable' });
      log.warn({ err, topic }, 'undecodable event skipped');
      return undefined;
    }
  };

  return {
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topics: [options.ingestTopic, ...options.platformTopics], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 2,
        eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          const events: AnalyticsEvent[] = [];
          for (const m of batch.messages) {
            const e = decode(batch.topic, m);
            if (e) events.push(e);
          }
          let stored: number;
          try {
            stored = await withSystemContext(pool, 'analytics.writer', () => withTransaction(pool, (tx) => insertEvents(tx, events)));
          } catch (err) {
            // 23514: no partition of "events" for a row's occurred_at (a day not created yet).
            if ((err as { code?: string }).code === '23514') await options.onMissingPartition();
            throw err; // kafkajs retries the batch from its first offset
          }
          rows.inc({ outcome: 'stored' }, stored);
          rows.inc({ outcome: 'duplicate' }, events.length - stored);
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
          // The next fetch starts after the resolved offset (without it kafkajs would fetch this batch again).
          resolveOffset(batch.lastOffset());
          lag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
          await heartbeat();
        },
      });
      running = true;
      log.info({ group: options.group, topics: [options.ingestTopic, ...options.platformTopics] }, 'analytics writer running');
    },
    async stop() {
      if (!running) return;
      running = false;
      await consumer.disconnect();
    },
  };
}
