/**
 * Builds the inventory service without listening: the PostgreSQL pool, the
 * idempotency middleware over the same pool (keys in the service schema),
 * the routes and the expiry sweeper, the outbox relay with its Kafka producer (when
 * EVENTS_ENABLED), registered as kit dependencies so that shutdown stops the
 * relay and the sweeper before the pool closes. `start()` migrates,
 * provisions the topic, starts the sweeper and the relay, and listens.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { assertRuntimeRole, createPool, DB_ROLES, grantSchemaAccess, migrate, gatewayTenantScope, withSystemContext, type DbPool } from '@bulwark/db';
import { createKafka, createOutboxRelay, createProducer, ensureTopics, type OutboxRelay } from '@bulwark/events';
import { createIdempotency, createTransactionOnly, migrateIdempotency, type Idempotency } from '@bulwark/idempotency';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import { createTokenVerifier } from '@bulwark/service-kit/service-auth';
import type { InventoryConfig } from './config.ts';
import { createExpirySweeper, type ExpirySweeper } from './domain/expiry-sweeper.ts';
import { INVENTORY_EVENTS, inventoryEventSchemas } from './domain/inventory-events.ts';
import { registerRoutes } from './http/routes.ts';
import { createInventoryMetrics } from './metrics.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface InventoryAppOptions {
  config: InventoryConfig;
  logDestination?: DestinationStream;
}

export interface InventoryApp {
  readonly service: Service<InventoryConfig>;
  readonly pool: DbPool;
  readonly sweeper: ExpirySweeper;
  readonly idempotency: Idempotency;
  /** The outbox relay when EVENTS_ENABLED. */
  readonly relay: OutboxRelay | undefined;
  /** Schema and migrations; idempotent, safe from every replica. */
  prepare(): Promise<void>;
  /** Starts the sweeper (when enabled) and the outbox relay (in the system context); `start()` calls it. */
  startWorkers(): void;
  /** prepare(), start the sweeper (when enabled), listen. */
  start(): Promise<StartedService>;
}

export function createInventoryApp(options: InventoryAppOptions): InventoryApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let sweeper!: ExpirySweeper;
  let idempotency!: Idempotency;
  let relay: OutboxRelay | undefined;
  const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  if (config.EVENTS_ENABLED && brokers.length === 0) throw new Error('KAFKA_BROKERS is required when EVENTS_ENABLED=true');
  const kafka = config.EVENTS_ENABLED ? createKafka({ brokers, clientId: 'inventory-outbox' }) : undefined;

  const service = createService({
    name: 'inventory',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    // Every route runs as the tenant the gateway (or the orders saga) names in x-auth-tenant; none: reservations
    // fail closed. SKU stock is shared catalogue data, outside row-level security (migrations/0003).
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'inventory', max: config.DB_POOL_MAX, searchPath: [config.INVENTORY_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'inventory-owner', max: 1, statementTimeoutMs: 0, searchPath: [config.INVENTORY_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      const metrics = createInventoryMetrics(kit.metrics);
      if (kafka) {
        const producer = createProducer({ kafka, schemas: inventoryEventSchemas, source: '/bulwark/inventory', registry: kit.metrics, log: kit.log });
        const r = createOutboxRelay({ pool, producer, topic: config.INVENTORY_TOPIC, table: 'inventory_events_outbox', events: INVENTORY_EVENTS, batchSize: config.OUTBOX_BATCH_SIZE, pollIntervalMs: config.OUTBOX_POLL_MS, log: kit.log });
        relay = r;
        // Kafka being away must not make the API unready: events wait in the outbox. Close is bounded for the same reason.
        kit.addDependency({
          name: 'outbox-relay',
          async check() {
            if (!r.running) throw new Error('the outbox relay is not running');
          },
          async close() {
            await r.stop();
            await Promise.race([producer.close(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
          },
        });
      }
      idempotency = createIdempotency({
        pool,
        scope: 'inventory',
        schema: config.INVENTORY_SCHEMA,
        ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
        concurrent: config.IDEMPOTENCY_CONCURRENT,
        waitTimeoutMs: config.IDEMPOTENCY_WAIT_MS,
        registry: kit.metrics,
        onError: (err, ctx) => kit.log.warn({ err, stage: ctx.stage }, 'idempotency store error'),
      });
      const idem = idempotency;
      sweeper = createExpirySweeper({
        pool,
        batchSize: config.SWEEP_BATCH_SIZE,
        intervalMs: config.SWEEP_INTERVAL_MS,
        log: kit.log,
        released: metrics.expired,
        onFailure: () => metrics.sweepFailures.inc(),
        housekeeping: () => idem.sweep(),
      });
      kit.addDependency({
        name: 'expiry-sweeper',
        async check() {
          if (config.SWEEPER_ENABLED && !sweeper.running) throw new Error('the expiry sweeper is not running');
        },
        close: () => sweeper.stop(),
      });
      if (!config.IDEMPOTENCY_ENABLED) kit.log.warn('IDEMPOTENCY_ENABLED=false: Idempotency-Keys are not stored or replayed (benchmark baseline only)');
      registerRoutes(r, {
        pool,
        idempotency: config.IDEMPOTENCY_ENABLED ? idem.middleware : createTransactionOnly({ pool, onError: (err, stage) => kit.log.error({ err, stage }, 'request transaction failed') }),
        serviceTokens: createTokenVerifier({ jwksUrl: config.JWKS_URL, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE }),
        internalClients: config.INTERNAL_CLIENTS,
        reservationTtlSeconds: config.RESERVATION_TTL_SECONDS,
        onTransition: (transition) => metrics.reservations.inc({ transition }),
      });
    },
  });

  // DDL as the owner; then the runtime role is checked (RLS must bind it) and given the data, not the DDL.
  async function prepare(): Promise<void> {
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.INVENTORY_SCHEMA, phase: 'all' });
    await migrateIdempotency({ pool: ownerPool, schema: config.INVENTORY_SCHEMA });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.INVENTORY_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    if (kafka) {
      await ensureTopics(kafka, [{ name: config.INVENTORY_TOPIC, partitions: config.INVENTORY_TOPIC_PARTITIONS, retentionMs: 7 * 86_400_000 }]);
    }
  }

  function startWorkers(): void {
    if (config.SWEEPER_ENABLED) sweeper.start();
    // The relay's loop publishes every tenant's outbox rows: it runs in the system context it starts in.
    const r = relay;
    if (r) void withSystemContext(pool, 'inventory.outbox-relay', async () => r.start());
  }

  return {
    service,
    startWorkers,
    get pool() {
      return pool;
    },
    get sweeper() {
      return sweeper;
    },
    get idempotency() {
      return idempotency;
    },
    get relay() {
      return relay;
    },
    prepare,
    async start() {
      await prepare();
      startWorkers();
      return service.start();
    },
  };
}
