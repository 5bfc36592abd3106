/**
 * Builds the content service without listening: the PostgreSQL pools
 * (runtime role for requests, owner for migrations), the routes, the
 * scheduler that publishes due articles, and, with KAFKA_BROKERS, the outbox
 * relay that carries article events (and the edge's purges) to Kafka.
 * `start()` migrates and listens.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { assertRuntimeRole, createPool, DB_ROLES, gatewayTenantScope, grantSchemaAccess, migrate, withSystemContext, type DbPool } from '@bulwark/db';
import { createKafka, createOutboxRelay, createProducer, ensureTopics, type OutboxRelay } from '@bulwark/events';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import type { ContentConfig } from './config.ts';
import './errors.ts';
import { CONTENT_EVENTS, contentEventSchemas } from './events/content-events.ts';
import { registerRoutes } from './http/routes.ts';
import { prunePublishedEvents, publishDue } from './store/article-store.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface ContentAppOptions {
  config: ContentConfig;
  logDestination?: DestinationStream;
}

export interface ContentApp {
  readonly service: Service<ContentConfig>;
  readonly pool: DbPool;
  /** Publishes the scheduled articles that are due now (the scheduler's one step); returns how many. */
  publishDue(): Promise<number>;
  prepare(): Promise<void>;
  start(): Promise<StartedService>;
}

const OUTBOX_KEEP_SECONDS = 86_400;

export function createContentApp(options: ContentAppOptions): ContentApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let relay: OutboxRelay | undefined;
  let ensureTopic: (() => Promise<void>) | undefined;
  let timers: NodeJS.Timeout[] = [];
  let prepared = false;

  const service = createService({
    name: 'content',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'content', max: config.DB_POOL_MAX, searchPath: [config.CONTENT_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'content-owner', max: 2, statementTimeoutMs: 0, searchPath: [config.CONTENT_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      if (config.KAFKA_BROKERS && config.KAFKA_BROKERS.length > 0) {
        const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'content' });
        const producer = createProducer({ kafka, schemas: contentEventSchemas, source: '/bulwark/content', registry: kit.metrics, log: kit.log });
        const outbox = createOutboxRelay({ pool, producer, topic: config.CONTENT_TOPIC, table: 'content_events_outbox', keyColumn: 'aggregate_id', events: CONTENT_EVENTS, batchSize: 200, pollIntervalMs: config.OUTBOX_POLL_MS, log: kit.log });
        relay = outbox;
        ensureTopic = async () => void (await ensureTopics(kafka, [{ name: config.CONTENT_TOPIC, partitions: 6, retentionMs: 7 * 86_400_000 }]));
        kit.addDependency({
          name: 'kafka',
          check: async () => undefined,
          async close() {
            await outbox.stop();
            await producer.close();
          },
        });
      } else kit.log.warn('KAFKA_BROKERS is not set: article events (and the edge purges they carry) wait in the outbox');
      kit.addDependency({ name: 'scheduler', check: async () => undefined, close: async () => timers.forEach(clearInterval) });
      registerRoutes(r, {
        pool,
        rules: { blockedWords: config.MODERATION_BLOCKED_WORDS, maxLinks: config.MODERATION_MAX_LINKS },
        publicMaxAgeSeconds: config.PUBLIC_MAX_AGE_SECONDS,
        publicStaleSeconds: config.PUBLIC_STALE_SECONDS,
      });
    },
  });

  const publishDueNow = () => withSystemContext(pool, 'content.publish-due', () => publishDue(pool));

  async function prepare(): Promise<void> {
    if (prepared) return;
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.CONTENT_SCHEMA, phase: 'all' });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.CONTENT_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    await ensureTopic?.().catch((err: unknown) => service.log.warn({ err }, 'could not ensure the content topic; the relay will retry publishing'));
    const outbox = relay;
    if (outbox) void withSystemContext(pool, 'content.outbox-relay', async () => outbox.start());
    const scheduler = setInterval(() => void publishDueNow().catch((err: unknown) => service.log.warn({ err }, 'publishing due articles failed; next tick retries')), config.SCHEDULER_INTERVAL_MS);
    const sweeper = setInterval(() => void withSystemContext(pool, 'content.outbox-prune', () => prunePublishedEvents(pool, OUTBOX_KEEP_SECONDS)).catch((err: unknown) => service.log.warn({ err }, 'outbox prune failed')), 60_000);
    scheduler.unref();
    sweeper.unref();
    timers = [scheduler, sweeper];
    prepared = true;
  }

  return {
    service,
    get pool() {
      return pool;
    },
    publishDue: publishDueNow,
    prepare,
    async start() {
      await prepare();
      return service.start();
    },
  };
}
