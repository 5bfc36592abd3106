/**
 * secrets on Kafka: the outbox relay publishing audit events to
 * SECRETS_TOPIC. Kafka being away never makes the API unready: events wait
 * in the outbox (and secrets_outbox_unpublished says how many).
 */
import type { Registry } from 'prom-client';
import { withSystemContext, type DbPool } from '@bulwark/db';
import { createKafka, createOutboxRelay, createProducer, ensureTopics, type OutboxRelay } from '@bulwark/events';
import type { Logger } from '@bulwark/service-kit/logging';
import type { SecretsConfig } from '../config.ts';
import { SECRETS_EVENTS, secretsEventSchemas } from './secrets-events.ts';

export interface SecretsKafka {
  prepare(): Promise<void>;
  start(): void;
  readonly relay: OutboxRelay;
  close(): Promise<void>;
}

export function createSecretsKafka(options: { config: SecretsConfig; brokers: string[]; pool: DbPool; registry: Registry; log: Logger }): SecretsKafka {
  const { config, pool, registry, log } = options;
  const kafka = createKafka({ brokers: options.brokers, clientId: 'secrets' });
  const producer = createProducer({ kafka, schemas: secretsEventSchemas, source: '/bulwark/secrets', registry, log });
  const relay = createOutboxRelay({ pool, producer, topic: config.SECRETS_TOPIC, table: 'secrets_events_outbox', keyColumn: 'aggregate_id', events: SECRETS_EVENTS, batchSize: config.OUTBOX_BATCH_SIZE, pollIntervalMs: config.OUTBOX_POLL_MS, log });
  const bounded = (p: Promise<unknown>) => Promise.race([p, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  return {
    relay,
    async prepare() {
      await ensureTopics(kafka, [{ name: config.SECRETS_TOPIC, partitions: 6, retentionMs: 7 * 86_400_000 }]);
    },
    start() {
      void withSystemContext(pool, 'secrets.outbox-relay', async () => relay.start());
    },
    async close() {
      await relay.stop();
      await bounded(producer.close());
    },
  };
}
