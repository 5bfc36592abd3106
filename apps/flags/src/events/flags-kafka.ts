/**
 * flags on Kafka: the outbox relay publishing flags' events to FLAGS_TOPIC.
 * Kafka being away never makes the API unready: events wait in the outbox.
 */
import type { Registry } from 'prom-client';
import { withSystemContext, type DbPool } from '@bulwark/db';
import { createKafka, createOutboxRelay, createProducer, ensureTopics, type OutboxRelay } from '@bulwark/events';
import type { Logger } from '@bulwark/service-kit/logging';
import type { FlagsConfig } from '../config.ts';
import { FLAGS_EVENTS, flagsEventSchemas } from './flags-events.ts';

export interface FlagsKafka {
  prepare(): Promise<void>;
  start(): void;
  readonly relay: OutboxRelay;
  close(): Promise<void>;
}

export function createFlagsKafka(options: { config: FlagsConfig; brokers: string[]; pool: DbPool; registry: Registry; log: Logger }): FlagsKafka {
  const { config, pool, registry, log } = options;
  const kafka = createKafka({ brokers: options.brokers, clientId: 'flags' });
  const producer = createProducer({ kafka, schemas: flagsEventSchemas, source: '/bulwark/flags', registry, log });
  const relay = createOutboxRelay({ pool, producer, topic: config.FLAGS_TOPIC, table: 'flags_events_outbox', keyColumn: 'aggregate_id', events: FLAGS_EVENTS, batchSize: config.OUTBOX_BATCH_SIZE, pollIntervalMs: config.OUTBOX_POLL_MS, log });
  const bounded = (p: Promise<unknown>) => Promise.race([p, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  return {
    relay,
    async prepare() {
      await ensureTopics(kafka, [{ name: config.FLAGS_TOPIC, partitions: 6, retentionMs: 7 * 86_400_000 }]);
    },
    start() {
      void withSystemContext(pool, 'flags.outbox-relay', async () => relay.start());
    },
    async close() {
      await relay.stop();
      await bounded(producer.close());
    },
  };
}
