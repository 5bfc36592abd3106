/**
 * Test helpers: the real analytics service on port 0 (or as a child process)
 * against the PostgreSQL and Kafka from Jest global setup, each suite in its
 * own schema, topics and consumer group (random suffix), removed at cleanup.
 * The service connects as the runtime role (row-level security applies);
 * `call` carries TEST_TENANT as the gateway would.
 */
import { fileURLToPath } from 'node:url';
import { connectAdmin, createKafka } from '@bulwark/events';
import { loadConfig } from '@bulwark/service-kit';
import { devNull, fastConsumer, kafkaBrokers, setupServiceBed, tenantCall, TEST_TENANT, type ServiceBed } from '@bulwark/test-support';
import { createAnalyticsApp, type AnalyticsApp } from '../src/app.ts';
import { analyticsConfigSchema } from '../src/config.ts';

export type { Reply } from '@bulwark/test-support';
export { waitFor } from '@bulwark/test-support';

export const call = tenantCall(TEST_TENANT);

export interface TestAnalytics extends ServiceBed<AnalyticsApp> {
  topics: { ingest: string; shortener: string; orders: string };
  /** Rows of `events` with this type (every tenant: `db` carries no tenant and is the superuser). */
  count(type?: string): Promise<number>;
}

export async function setupAnalytics(): Promise<TestAnalytics> {
  let topics!: TestAnalytics['topics'];
  const bed = await setupServiceBed({
    name: 'analytics',
    schemaEnv: 'ANALYTICS_SCHEMA',
    tenant: null,
    poolMax: 2,
    main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
    create: (env) => createAnalyticsApp({ config: loadConfig(analyticsConfigSchema, env), logDestination: devNull }),
    env: ({ id }) => {
      topics = { ingest: `analytics.ingest.${id}`, shortener: `shortener.events.${id}`, orders: `orders.events.${id}` };
      return {
        KAFKA_BROKERS: kafkaBrokers().join(','),
        INGEST_TOPIC: topics.ingest,
        INGEST_TOPIC_PARTITIONS: '3',
        PLATFORM_TOPICS: `${topics.shortener},${topics.orders}`,
        WRITER_GROUP: `analytics-writer-${id}`,
        WRITER_SESSION_TIMEOUT_MS: String(fastConsumer.sessionTimeoutMs),
        WRITER_MAX_WAIT_MS: String(fastConsumer.maxWaitTimeMs),
      };
    },
  });
  bed.onCleanup(async () => {
    const admin = await connectAdmin(createKafka({ brokers: kafkaBrokers(), clientId: `analytics-cleanup-${bed.id}` }));
    await admin.deleteTopics(Object.values(topics)).catch(() => undefined);
    await admin.deleteGroups([`analytics-writer-${bed.id}`]).catch(() => undefined);
    await admin.disconnect();
  });
  return Object.assign(bed, {
    topics,
    async count(type?: string) {
      const { rows } = await bed.db.query<{ n: string }>(type ? 'SELECT count(*) AS n FROM events WHERE type = $1' : 'SELECT count(*) AS n FROM events', type ? [type] : []);
      return Number(rows[0]!.n);
    },
  });
}
