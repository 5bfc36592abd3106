/**
 * Builds analytics without listening: the PostgreSQL pools (runtime role for
 * requests and the writer, owner for migrations and daily partitions), the
 * ingest producer and the writer (Kafka → PostgreSQL), all registered as kit
 * dependencies so that shutdown stops the writer (its batch committed or
 * redelivered) before the pools close. `start()` migrates and listens.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { assertRuntimeRole, createPool, DB_ROLES, gatewayTenantScope, grantSchemaAccess, migrate, type DbPool } from '@bulwark/db';
import { createKafka, createProducer, ensureTopics, type EventProducer } from '@bulwark/events';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import type { AnalyticsConfig } from './config.ts';
import './errors.ts';
import { analyticsEventSchemas, EventAccepted } from './events/analytics-events.ts';
import { registerRoutes } from './http/routes.ts';
import { LiveFeeds } from './http/stream-routes.ts';
import { createAnalyticsMetrics } from './metrics.ts';
import { createWriter, type Writer } from './ingest/writer.ts';
import { dropPartitionsBefore, ensurePartitions } from './store/event-store.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface AnalyticsAppOptions {
  config: AnalyticsConfig;
  logDestination?: DestinationStream;
}

export interface AnalyticsApp {
  readonly service: Service<AnalyticsConfig>;
  readonly pool: DbPool;
  readonly producer: EventProducer;
  /** Schema, migrations, grants, partitions, topics; starts the writer. Idempotent. */
  prepare(): Promise<void>;
  /** prepare(), then listen. */
  start(): Promise<StartedService>;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export function createAnalyticsApp(options: AnalyticsAppOptions): AnalyticsApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let producer!: EventProducer;
  let writer: Writer | undefined;
  let partitionTimer: NodeJS.Timeout | undefined;
  let prepared = false;
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'analytics' });
  const liveFeeds = new LiveFeeds();

  const service = createService({
    name: 'analytics',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'analytics', max: config.DB_POOL_MAX, searchPath: [config.ANALYTICS_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'analytics-owner', max: 2, statementTimeoutMs: 0, searchPath: [config.ANALYTICS_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      producer = createProducer({ kafka, schemas: analyticsEventSchemas, source: '/bulwark/analytics', registry: kit.metrics, log: kit.log, maxBatchSize: 1_000 });
      const ingest = producer;
      kit.addDependency({ name: 'kafka-producer', check: async () => undefined, close: () => ingest.close() });
      if (config.WRITER_ENABLED) {
        const w = createWriter({
          kafka,
          pool,
          group: config.WRITER_GROUP,
          ingestTopic: config.INGEST_TOPIC,
          platformTopics: config.PLATFORM_TOPICS,
          fallbackTenant: config.PLATFORM_DEFAULT_TENANT,
          maxBytesPerPartition: config.WRITER_MAX_BYTES,
          onMissingPartition: () => createPartitions(),
          registry: kit.metrics,
          log: kit.log,
          timings: { sessionTimeoutMs: config.WRITER_SESSION_TIMEOUT_MS, rebalanceTimeoutMs: config.WRITER_SESSION_TIMEOUT_MS, heartbeatIntervalMs: Math.max(100, Math.floor(config.WRITER_SESSION_TIMEOUT_MS / 10)), maxWaitTimeMs: config.WRITER_MAX_WAIT_MS },
        });
        writer = w;
        // Registered after the pool: stopped before it closes, so the batch in flight commits or is redelivered.
        kit.addDependency({ name: 'writer', check: async () => undefined, close: () => w.stop() });
      }
      kit.addDependency({ name: 'partition-maintenance', check: async () => undefined, close: async () => clearInterval(partitionTimer) });
      registerRoutes(r, {
        metrics: createAnalyticsMetrics(kit.metrics, () => liveFeeds.size),
        pool,
        publish: async (events) => {
          await Promise.all(events.map((e) => ingest.publish(config.INGEST_TOPIC, EventAccepted, e, { key: `${e.tenant}:${e.id}`, time: new Date(e.occurredAt) })));
        },
        pastDays: config.ACCEPT_PAST_DAYS,
        futureMs: config.ACCEPT_FUTURE_MS,
        maxBuckets: config.SERIES_MAX_BUCKETS,
        maxCohorts: config.RETENTION_MAX_COHORTS,
        exportFetchRows: config.EXPORT_FETCH_ROWS,
        livePollMs: config.LIVE_POLL_MS,
        liveFeeds,
        upload: { maxBytes: config.UPLOAD_MAX_BYTES, maxRecordChars: config.UPLOAD_MAX_ROW_BYTES, maxErrors: config.UPLOAD_MAX_ERRORS, chunkRows: config.UPLOAD_CHUNK_ROWS },
      });
    },
  });

  // Live feeds are open-ended: ended at drain (clients resume elsewhere with Last-Event-ID), not at the drain deadline.
  service.onDrain(() => liveFeeds.endAll());

  // One day more than accepted on each side: a client's clock near midnight still finds its day.
  // Raw days past RAW_RETENTION_DAYS go in the same pass; their hourly rollups stay.
  const createPartitions = async (): Promise<void> => {
    const now = new Date();
    const created = await ensurePartitions(ownerPool, now, config.ACCEPT_PAST_DAYS + 1, config.PARTITION_DAYS_AHEAD);
    if (created > 0) service.log.info({ created }, 'daily event partitions created');
    if (config.RAW_RETENTION_DAYS > 0) {
      const keepDays = Math.max(config.RAW_RETENTION_DAYS, config.ACCEPT_PAST_DAYS + 2);
      const dropped = await dropPartitionsBefore(ownerPool, new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - keepDays * DAY_MS));
      if (dropped.length > 0) service.log.info({ dropped, keepDays }, 'raw event days past retention dropped (their rollups stay)');
    }
  };

  async function prepare(): Promise<void> {
    if (prepared) return;
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.ANALYTICS_SCHEMA, phase: 'all' });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.ANALYTICS_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    await createPartitions();
    partitionTimer = setInterval(() => void createPartitions().catch((err: unknown) => service.log.error({ err }, 'creating daily event partitions failed')), HOUR_MS);
    partitionTimer.unref();
    // The platform topics with the platform's declaration (6 partitions, 7 days, as their producers and audit declare them).
    await ensureTopics(kafka, [
      { name: config.INGEST_TOPIC, partitions: config.INGEST_TOPIC_PARTITIONS, retentionMs: 7 * 86_400_000 },
      ...config.PLATFORM_TOPICS.map((name) => ({ name, partitions: 6, retentionMs: 7 * 86_400_000 })),
    ]);
    await writer?.start();
    prepared = true;
  }

  return {
    service,
    get pool() {
      return pool;
    },
    get producer() {
      return producer;
    },
    prepare,
    async start() {
      await prepare();
      return service.start();
    },
  };
}
