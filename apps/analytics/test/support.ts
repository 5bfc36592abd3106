/**
 * Test helpers: the real analytics service on port 0 (or as a child process)
 * against the PostgreSQL and Kafka from Jest global setup, each suite in its
 * own schema, topics and consumer group (random suffix), removed at cleanup.
 * The service connects as the runtime role (row-level security applies);
 * `call` carries TEST_TENANT as the gateway would.
 */
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { connectAdmin, createKafka } from '@bulwark/events';
import { loadConfig } from '@bulwark/service-kit';
import { fastConsumer, freePort, kafkaBrokers, pgUrl, runtimeDbUrl, sessionDbUrl, silent, startService, suffix, tenantCall, TEST_TENANT, type Service } from '@bulwark/test-support';
import { createAnalyticsApp, type AnalyticsApp } from '../src/app.ts';
import { analyticsConfigSchema } from '../src/config.ts';

export type { Reply } from '@bulwark/test-support';
export { waitFor } from '@bulwark/test-support';

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;

export const call = tenantCall(TEST_TENANT);

export interface TestAnalytics {
  id: string;
  schema: string;
  topics: { ingest: string; shortener: string; orders: string };
  /** Owner pool with search_path = the test schema, no tenant: reads every row (superuser). */
  db: DbPool;
  env(extra?: Record<string, string>): Promise<Record<string, string>>;
  start(env?: Record<string, string>): Promise<{ app: AnalyticsApp; url: string }>;
  /** The service's main.ts as a child process (for kill -9). */
  spawn(env?: Record<string, string>): Promise<Service>;
  /** Rows of `events` with this type (every tenant). */
  count(type?: string): Promise<number>;
  cleanup(): Promise<void>;
}

export async function setupAnalytics(): Promise<TestAnalytics> {
  const id = suffix();
  const schema = `analytics_${id}`;
  const topics = { ingest: `analytics.ingest.${id}`, shortener: `shortener.events.${id}`, orders: `orders.events.${id}` };
  const db = createPool({ connectionString: sessionDbUrl(pgUrl(), { searchPath: schema }), name: `analytics_test_${id}`, max: 2, registry: new Registry(), log: silent });
  const apps: AnalyticsApp[] = [];
  const children: Service[] = [];
  const envOf = async (extra: Record<string, string> = {}): Promise<Record<string, string>> => ({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: await runtimeDbUrl(pgUrl()),
    MIGRATION_DATABASE_URL: pgUrl(),
    ANALYTICS_SCHEMA: schema,
    KAFKA_BROKERS: kafkaBrokers().join(','),
    INGEST_TOPIC: topics.ingest,
    INGEST_TOPIC_PARTITIONS: '3',
    PLATFORM_TOPICS: `${topics.shortener},${topics.orders}`,
    WRITER_GROUP: `analytics-writer-${id}`,
    WRITER_SESSION_TIMEOUT_MS: String(fastConsumer.sessionTimeoutMs),
    WRITER_MAX_WAIT_MS: String(fastConsumer.maxWaitTimeMs),
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...extra,
  });
  return {
    id,
    schema,
    topics,
    db,
    env: envOf,
    async start(env = {}) {
      const config = loadConfig(analyticsConfigSchema, await envOf(env));
      const app = createAnalyticsApp({ config, logDestination: devNull as never });
      apps.push(app);
      const { url } = await app.start();
      return { app, url };
    },
    async spawn(env = {}) {
      const port = await freePort();
      const child = await startService({ main: 'src/main.ts', cwd: fileURLToPath(new URL('..', import.meta.url)), port, env: await envOf({ ...env, PORT: String(port) }) });
      children.push(child);
      return child;
    },
    async count(type) {
      const { rows } = await db.query<{ n: string }>(type ? 'SELECT count(*) AS n FROM events WHERE type = $1' : 'SELECT count(*) AS n FROM events', type ? [type] : []);
      return Number(rows[0]!.n);
    },
    async cleanup() {
      for (const c of children) await c.kill('SIGKILL').catch(() => undefined);
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
      const admin = await connectAdmin(createKafka({ brokers: kafkaBrokers(), clientId: `analytics-cleanup-${id}` }));
      await admin.deleteTopics(Object.values(topics)).catch(() => undefined);
      await admin.deleteGroups([`analytics-writer-${id}`]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
