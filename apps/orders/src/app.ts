/**
 * Builds the orders service without listening: the PostgreSQL pool, the
 * event-sourced command side, the read-model query side, the projectors and
 * the CDC relay (with its Kafka producer), all registered as kit dependencies
 * so shutdown stops them in reverse order: relay and projectors first, then
 * the producer, then the pool. `start()` migrates the schema, provisions the
 * topic, starts the workers and then listens.
 */
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { assertRuntimeRole, createPool, DB_ROLES, grantSchemaAccess, migrate, gatewayTenantScope, type DbPool } from '@bulwark/db';
import { createKafka, createProducer, ensureTopics, type EventProducer } from '@bulwark/events';
import { createIdempotency, createTransactionOnly, migrateIdempotency } from '@bulwark/idempotency';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import { createClientCredentialsProvider } from '@bulwark/service-kit/service-auth';
import type { OrdersConfig } from './config.ts';
import { orderEventSchemas } from './domain/events.ts';
import { createOrderRepository } from './store/order-repository.ts';
import { createUnitOfWork } from './store/unit-of-work.ts';
import { registerAdminRoutes } from './http/admin-routes.ts';
import { registerCheckoutRoutes } from './http/checkout-routes.ts';
import { registerCommandRoutes } from './http/command-routes.ts';
import { registerQueryRoutes } from './http/query-routes.ts';
import { registerOrdersSubgraph } from './graphql/subgraph.ts';
import { ensurePublication, ensureSlot } from './relay/replication-setup.ts';
import { createSagaClient, type BreakerSettings, type ServiceClient } from './saga/service-client.ts';
import { createWorkers, type Workers } from './workers.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface OrdersAppOptions {
  config: OrdersConfig;
  logDestination?: DestinationStream;
  /** Test seam passed to the relay (see CdcRelayOptions.beforeAcknowledge). */
  beforeAcknowledge?: (lsn: string) => Promise<void>;
}

export interface OrdersApp {
  readonly service: Service<OrdersConfig>;
  /** The runtime pool (row-level security applies). */
  readonly pool: DbPool;
  /** The owner's pool: migrations, grants, rebuilds, replication setup. */
  readonly ownerPool: DbPool;
  readonly workers: Workers;
  /** Migrations, topic, publication and slot; idempotent, safe from every replica. */
  prepare(): Promise<void>;
  /** prepare(), start the workers, listen. */
  start(): Promise<StartedService>;
}

const withDeadline = <T>(p: Promise<T>, ms: number): Promise<T | undefined> =>
  Promise.race([p, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())]);

export function createOrdersApp(options: OrdersAppOptions): OrdersApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let workers!: Workers;
  let producer: EventProducer | undefined;
  const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  if (config.RELAY_ENABLED && brokers.length === 0) throw new Error('KAFKA_BROKERS is required when RELAY_ENABLED=true');
  const kafka = config.RELAY_ENABLED ? createKafka({ brokers, clientId: `orders-relay` }) : undefined;

  const service = createService({
    name: 'orders',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    // Every route runs as the tenant the gateway verified (x-auth-tenant); none: tenant tables fail closed.
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'orders', max: config.DB_POOL_MAX, searchPath: [config.ORDERS_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'orders-owner', max: 2, statementTimeoutMs: 0, searchPath: [config.ORDERS_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      if (kafka) {
        producer = createProducer({ kafka, schemas: orderEventSchemas, source: '/bulwark/orders', registry: kit.metrics, log: kit.log });
        const p = producer;
        // Kafka being away must not make the API unready: events wait in the WAL. Close is bounded for the same reason.
        kit.addDependency({ name: 'kafka-producer', check: async () => undefined, close: () => withDeadline(p.close(), 5_000).then(() => undefined) });
      }
      const checkout = config.INVENTORY_URL && config.PAYMENTS_URL ? { inventoryUrl: config.INVENTORY_URL, paymentsUrl: config.PAYMENTS_URL } : undefined;
      const orders = createOrderRepository(pool, { snapshotEvery: config.SNAPSHOT_EVERY, log: kit.log });
      let clients: { inventory: ServiceClient; payments: ServiceClient } | undefined;
      if (checkout && config.SAGA_RUNNER_ENABLED) {
        const breaker: BreakerSettings = {
          errorThresholdPercentage: config.SAGA_BREAKER_ERROR_PERCENT,
          volumeThreshold: config.SAGA_BREAKER_VOLUME,
          resetTimeoutMs: config.SAGA_BREAKER_RESET_MS,
          rollingWindowMs: 10_000,
        };
        if (!config.SAGA_BREAKERS_ENABLED) kit.log.warn('SAGA_BREAKERS_ENABLED=false: saga calls have no circuit breaker (benchmark baseline only)');
        // One token for both callees (the config requires identity whenever the runner runs).
        const tokens = createClientCredentialsProvider({
          tokenUrl: `${config.IDENTITY_URL!.replace(/\/+$/, '')}/oidc/token`,
          clientId: config.IDENTITY_CLIENT_ID,
          clientSecret: config.IDENTITY_CLIENT_SECRET!,
          timeoutMs: config.IDENTITY_TIMEOUT_MS,
        });
        const common = { timeoutMs: config.SAGA_STEP_TIMEOUT_MS, breaker, breakerEnabled: config.SAGA_BREAKERS_ENABLED, tokens, registry: kit.metrics, log: kit.log };
        clients = { inventory: createSagaClient({ name: 'inventory', baseUrl: checkout.inventoryUrl, ...common }), payments: createSagaClient({ name: 'payments', baseUrl: checkout.paymentsUrl, ...common }) };
      }
      workers = createWorkers({
        pool,
        ownerPool,
        log: kit.log,
        registry: kit.metrics,
        projector: {
          enabled: config.PROJECTOR_ENABLED,
          batchSize: config.PROJECTOR_BATCH_SIZE,
          pollIntervalMs: config.PROJECTOR_POLL_MS,
          maxLagEvents: config.PROJECTOR_MAX_LAG_EVENTS,
          stuckAfterMs: config.PROJECTOR_STUCK_AFTER_MS,
        },
        relay: producer && {
          connectionString: config.MIGRATION_DATABASE_URL,
          schema: config.ORDERS_SCHEMA,
          slot: config.RELAY_SLOT,
          publication: config.RELAY_PUBLICATION,
          producer,
          topic: config.ORDERS_TOPIC,
          ackIntervalMs: config.RELAY_ACK_INTERVAL_MS,
          beforeAcknowledge: options.beforeAcknowledge,
        },
        saga: clients && {
          deps: { ...clients, orders, reservationTtlSeconds: config.SAGA_RESERVATION_TTL_SECONDS },
          policy: { retryBaseMs: config.SAGA_RETRY_BASE_MS, retryCapMs: config.SAGA_RETRY_CAP_MS },
          leaseMs: config.SAGA_LEASE_MS,
          pollIntervalMs: config.SAGA_POLL_MS,
          concurrency: config.SAGA_CONCURRENCY,
        },
      });
      kit.addDependency({
        name: 'workers',
        async check() {
          if (config.PROJECTOR_ENABLED && workers.projectors.some((p) => !p.running)) throw new Error('a projector is not running');
        },
        close: async () => {
          await workers.stop();
          clients?.inventory.close();
          clients?.payments.close();
        },
      });
      // The read model is shared: a projection that is stuck or far behind makes every replica serve stale (or missing) orders.
      kit.addDependency({ name: 'projections', check: () => workers.checkProjections() });
      registerCommandRoutes(r, orders, pool, !checkout);
      if (checkout) {
        // `wait`: a duplicate sent while the first is in flight gets the first one's response, not a 409.
        const idempotency = createIdempotency({ pool, scope: 'orders', schema: config.ORDERS_SCHEMA, concurrent: 'wait', onError: (err, ctx) => kit.log.error({ err, ...ctx }, 'idempotency store error') });
        const sweeper = setInterval(() => void idempotency.sweep().catch((err: unknown) => kit.log.warn({ err }, 'idempotency sweep failed')), 60_000);
        sweeper.unref();
        kit.addDependency({ name: 'idempotency-sweeper', check: async () => undefined, close: async () => clearInterval(sweeper) });
        if (!config.IDEMPOTENCY_ENABLED) kit.log.warn('IDEMPOTENCY_ENABLED=false: Idempotency-Keys are not stored or replayed (benchmark baseline only)');
        const uow = createUnitOfWork(pool, { snapshotEvery: config.SNAPSHOT_EVERY, log: kit.log });
        const settings = { currency: config.CHECKOUT_CURRENCY, deadlineMs: config.SAGA_DEADLINE_MS };
        registerCheckoutRoutes(r, pool, uow, settings, () => workers.saga?.nudge(), config.IDEMPOTENCY_ENABLED ? idempotency.middleware : createTransactionOnly({ pool, onError: (err, stage) => kit.log.error({ err, stage }, 'request transaction failed') }));
      }
      registerQueryRoutes(r, pool);
      registerOrdersSubgraph(r, pool);
      registerAdminRoutes(r, workers);
    },
  });

  // DDL as the owner; then the runtime role is checked (RLS must bind it) and given the data, not the DDL.
  async function prepare(): Promise<void> {
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.ORDERS_SCHEMA, phase: 'all' });
    if (config.INVENTORY_URL && config.PAYMENTS_URL) await migrateIdempotency({ pool: ownerPool, schema: config.ORDERS_SCHEMA });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.ORDERS_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    if (kafka) {
      await ensureTopics(kafka, [{ name: config.ORDERS_TOPIC, partitions: config.ORDERS_TOPIC_PARTITIONS, retentionMs: 7 * 86_400_000 }]);
      await ensurePublication(ownerPool, config.RELAY_PUBLICATION, config.ORDERS_SCHEMA);
      await ensureSlot(ownerPool, config.RELAY_SLOT);
    }
  }

  return {
    service,
    get pool() {
      return pool;
    },
    get ownerPool() {
      return ownerPool;
    },
    get workers() {
      return workers;
    },
    prepare,
    async start() {
      await prepare();
      workers.start();
      return service.start();
    },
  };
}
