/**
 * Builds the URL shortener without listening: the PostgreSQL pools (runtime
 * role for requests, owner for migrations), the link cache (L1, plus Redis as
 * L2 and invalidation channel when REDIS_URL is set), the per-IP creation
 * limit (Redis), the click recorder and, with KAFKA_BROKERS, the outbox relay;
 * all registered as kit dependencies so that shutdown writes the pending
 * clicks before the pools close. `start()` migrates and listens.
 */
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import { Cache } from '@bulwark/cache';
import { assertRuntimeRole, createPool, DB_ROLES, gatewayTenantScope, grantSchemaAccess, migrate, withSystemContext, type DbPool } from '@bulwark/db';
import { TenantFlags } from '@bulwark/openfeature-provider';
import { createKafka, createOutboxRelay, createProducer, ensureTopics, type OutboxRelay } from '@bulwark/events';
import { rateLimit, RateLimiter } from '@bulwark/ratelimit';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import { createClickRecorder, type ClickRecorder } from './clicks.ts';
import type { ShortenerConfig } from './config.ts';
import './errors.ts';
import { SHORTENER_EVENTS, shortenerEventSchemas } from './events/shortener-events.ts';
import { clientIp } from './http/client-ip.ts';
import { REDIRECT_ROUTE, registerRoutes } from './http/routes.ts';
import { createShortenerMetrics } from './metrics.ts';
import { prunePublishedEvents } from './store/link-store.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface ShortenerAppOptions {
  config: ShortenerConfig;
  logDestination?: DestinationStream;
}

export interface ShortenerApp {
  readonly service: Service<ShortenerConfig>;
  readonly pool: DbPool;
  readonly clicks: ClickRecorder;
  /** The outbox relay; undefined without KAFKA_BROKERS. */
  readonly relay: OutboxRelay | undefined;
  /** Schema, migrations, grants, topics; starts the click flusher and the relay. Idempotent. */
  prepare(): Promise<void>;
  /** prepare(), then listen. */
  start(): Promise<StartedService>;
}

export function createShortenerApp(options: ShortenerAppOptions): ShortenerApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let links!: Cache;
  let clicks!: ClickRecorder;
  let relay: OutboxRelay | undefined;
  let ensureTopic: (() => Promise<void>) | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let prepared = false;

  const service = createService({
    name: 'shortener',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    // Management routes run as the tenant the gateway names in x-auth-tenant; the redirect names none (system context).
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'shortener', max: config.DB_POOL_MAX, searchPath: [config.SHORTENER_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'shortener-owner', max: 2, statementTimeoutMs: 0, searchPath: [config.SHORTENER_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      clicks = createClickRecorder({ pool, flushMs: config.CLICK_FLUSH_MS, maxPending: config.CLICK_MAX_PENDING, registry: kit.metrics, log: kit.log });
      const recorder = clicks;
      // Registered after the pool: closed before it, so the last clicks are written while the pool is open.
      kit.addDependency({ name: 'clicks', check: async () => undefined, close: () => recorder.stop() });
      const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (times) => Math.min(times * 50, 500) }) : undefined;
      redis?.on('error', () => undefined); // the cache and the limiter report Redis trouble (metrics + logs)
      links = new Cache({ name: `shortener-links-${config.SHORTENER_SCHEMA}`, redis, ttlMs: config.LINK_CACHE_TTL_MS, registry: kit.metrics, log: kit.log });
      const cache = links;
      // Redis being away must not make redirects unready: L1 and the database serve (no check).
      kit.addDependency({
        name: 'link-cache',
        check: async () => undefined,
        async close() {
          await cache.close();
          redis?.disconnect();
        },
      });
      const limiter = redis
        ? new RateLimiter({
            redis,
            policies: [{ name: 'links-per-ip', algorithm: 'sliding-window', limit: config.LINKS_PER_IP_PER_MINUTE, windowSeconds: 60 }],
            prefix: `ratelimit:${config.SHORTENER_SCHEMA}`,
            // Creating a link is not worth refusing while Redis is away: the limit opens, counted and logged by the limiter.
            failureMode: 'fail-open',
            registry: kit.metrics,
            logger: kit.log,
          })
        : undefined;
      if (!limiter) kit.log.warn('REDIS_URL is not set: no per-IP limit on link creation');
      if (config.KAFKA_BROKERS && config.KAFKA_BROKERS.length > 0) {
        const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'shortener' });
        const producer = createProducer({ kafka, schemas: shortenerEventSchemas, source: '/bulwark/shortener', registry: kit.metrics, log: kit.log });
        const outbox = createOutboxRelay({ pool, producer, topic: config.SHORTENER_TOPIC, table: 'shortener_events_outbox', keyColumn: 'aggregate_id', events: SHORTENER_EVENTS, batchSize: config.OUTBOX_BATCH_SIZE, pollIntervalMs: config.OUTBOX_POLL_MS, log: kit.log });
        relay = outbox;
        ensureTopic = async () => void (await ensureTopics(kafka, [{ name: config.SHORTENER_TOPIC, partitions: 6, retentionMs: 7 * 86_400_000 }]));
        kit.addDependency({
          name: 'kafka',
          check: async () => undefined,
          async close() {
            await outbox.stop();
            await producer.close();
          },
        });
      } else kit.log.warn('KAFKA_BROKERS is not set: link and click events wait in the outbox');
      kit.addDependency({ name: 'outbox-sweeper', check: async () => undefined, close: async () => clearInterval(sweeper) });
      const flags = config.FLAGS_URL
        ? new TenantFlags({
            url: config.FLAGS_URL,
            exposures: false,
            ...(config.FLAGS_SNAPSHOT_DIR ? { snapshotDir: config.FLAGS_SNAPSHOT_DIR } : {}),
            log: kit.log,
            onInitError: (tenant, err) => kit.log.warn({ tenant, err }, 'flags unreachable and no saved snapshot: link creation allowed until the first snapshot'),
          })
        : undefined;
      if (flags) kit.addDependency({ name: 'flags', check: async () => undefined, close: () => flags.close() });
      const { rawRedirect } = registerRoutes(r, {
        pool,
        links,
        clicks,
        metrics: createShortenerMetrics(kit.metrics),
        publicBaseUrl: config.PUBLIC_BASE_URL,
        ownBases: config.OWN_BASE_URLS,
        codeLength: config.CODE_LENGTH,
        missingTtlMs: config.MISSING_CACHE_TTL_MS,
        permanentMaxAgeSeconds: config.PERMANENT_MAX_AGE_SECONDS,
        ...(flags ? { flags } : {}),
        ...(limiter ? { createLimit: rateLimit({ limiter, policies: (req) => [{ policy: 'links-per-ip', subject: clientIp(req) }], headers: 'on-reject' }) } : {}),
      });
      kit.mountRawHandler(rawRedirect, { serves: [REDIRECT_ROUTE], traceContext: 'explicit' });
    },
  });

  async function prepare(): Promise<void> {
    if (prepared) return;
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.SHORTENER_SCHEMA, phase: 'all' });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.SHORTENER_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    await links.start();
    clicks.start();
    // Kafka away does not keep the shortener unready: events wait in the outbox, the relay keeps trying.
    await ensureTopic?.().catch((err: unknown) => service.log.warn({ err }, 'could not ensure the shortener topic; the relay will retry publishing'));
    const outbox = relay;
    if (outbox) void withSystemContext(pool, 'shortener.outbox-relay', async () => outbox.start());
    sweeper = setInterval(() => {
      void withSystemContext(pool, 'shortener.outbox-prune', () => prunePublishedEvents(pool, config.OUTBOX_KEEP_SECONDS)).catch((err: unknown) => service.log.warn({ err }, 'outbox prune failed'));
    }, 60_000);
    sweeper.unref();
    prepared = true;
  }

  return {
    service,
    get pool() {
      return pool;
    },
    get clicks() {
      return clicks;
    },
    get relay() {
      return relay;
    },
    prepare,
    async start() {
      await prepare();
      return service.start();
    },
  };
}
