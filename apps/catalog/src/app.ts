/**
 * Builds the catalog service without listening: the PostgreSQL pools
 * (runtime role for requests, owner for migrations and the seed), the
 * product cache (L1, plus Redis as L2 and invalidation channel when
 * REDIS_URL is set), the routes, all registered as kit dependencies so that
 * shutdown closes the cache and Redis before the pools. `start()` migrates,
 * seeds when asked and listens.
 */
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import { Cache } from '@bulwark/cache';
import { assertRuntimeRole, createPool, DB_ROLES, grantSchemaAccess, migrate, gatewayTenantScope, withSystemContext, type DbPool } from '@bulwark/db';
import { createIdempotency, migrateIdempotency } from '@bulwark/idempotency';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import type { CatalogConfig } from './config.ts';
import './errors.ts';
import { createCartServices } from './domain/cart-services.ts';
import { vocabularyKey } from './domain/search.ts';
import { createCatalogKafka, type CatalogKafka } from './events/catalog-kafka.ts';
import { registerCatalogSubgraph } from './graphql/subgraph.ts';
import { registerCartRoutes } from './http/cart-routes.ts';
import { registerReviewRoutes } from './http/review-routes.ts';
import { registerRoutes } from './http/routes.ts';
import { createCatalogMetrics } from './metrics.ts';
import { seedDemoCatalog } from './seed/demo-catalog.ts';
import { deleteExpiredCarts } from './store/cart-store.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface CatalogAppOptions {
  config: CatalogConfig;
  logDestination?: DestinationStream;
}

export interface CatalogApp {
  readonly service: Service<CatalogConfig>;
  readonly pool: DbPool;
  readonly products: Cache;
  /** The outbox relay and the orders-event consumer; undefined without KAFKA_BROKERS. */
  readonly events: CatalogKafka | undefined;
  /** Schema, extensions, migrations, grants, the demo seed when CATALOG_SEED_TENANT is set; idempotent. */
  prepare(): Promise<void>;
  /** prepare(), then listen. */
  start(): Promise<StartedService>;
}

export function createCatalogApp(options: CatalogAppOptions): CatalogApp {
  const { config } = options;
  let pool!: DbPool;
  let ownerPool!: DbPool;
  let products!: Cache;
  let events: CatalogKafka | undefined;
  const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];

  const service = createService({
    name: 'catalog',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    // Every route runs as the tenant the gateway names in x-auth-tenant; none: the catalog is empty and writes are refused.
    ...gatewayTenantScope,
    routes(r, kit) {
      pool = createPool({ connectionString: config.DATABASE_URL, name: 'catalog', max: config.DB_POOL_MAX, searchPath: [config.CATALOG_SCHEMA], registry: kit.metrics, log: kit.log });
      ownerPool = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'catalog-owner', max: 2, statementTimeoutMs: 0, searchPath: [config.CATALOG_SCHEMA], registry: kit.metrics, log: kit.log });
      kit.addDependency({ name: 'postgres-owner', check: async () => undefined, close: () => ownerPool.close() });
      kit.addDependency({ name: 'postgres', check: (signal) => pool.check(signal), close: () => pool.close() });
      const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (times) => Math.min(times * 50, 500) }) : undefined;
      products = new Cache({
        name: `catalog-products-${config.CATALOG_SCHEMA}`,
        redis,
        ttlMs: config.PRODUCT_CACHE_TTL_MS,
        staleWhileRevalidateMs: config.PRODUCT_CACHE_TTL_MS / 2,
        registry: kit.metrics,
        log: kit.log,
      });
      // Redis being away must not make the catalog unready: the cache serves from L1 and the database (no check).
      const cache = products;
      kit.addDependency({
        name: 'product-cache',
        check: async () => undefined,
        async close() {
          await cache.close();
          redis?.disconnect();
        },
      });
      if (brokers.length > 0) {
        const kafka = createCatalogKafka({ config, brokers, pool, registry: kit.metrics, log: kit.log });
        events = kafka;
        kit.addDependency({ name: 'kafka', check: async () => undefined, close: () => kafka.close() });
      } else kit.log.warn('KAFKA_BROKERS is not set: catalog events wait in the outbox and no order is seen delivered (no reviews)');
      registerReviewRoutes(r, { pool, products });
      registerCatalogSubgraph(r, pool, { batching: config.GRAPHQL_BATCHING, productMaxAgeSeconds: config.PRODUCT_MAX_AGE_SECONDS });
      const seeding = new Map<string, Promise<unknown>>();
      const seedDemo = (tenant: string) => {
        if (seeding.has(tenant)) return { products: config.CATALOG_SEED_COUNT, started: false };
        const run = seedDemoCatalog(ownerPool, tenant, config.CATALOG_SEED_COUNT, kit.log)
          .then(() => products.delete(vocabularyKey(tenant)))
          .catch((err: unknown) => kit.log.error({ err, tenant }, 'loading the demo catalog failed'))
          .finally(() => seeding.delete(tenant));
        seeding.set(tenant, run);
        return { products: config.CATALOG_SEED_COUNT, started: true };
      };
      registerRoutes(r, { pool, products, metrics: createCatalogMetrics(kit.metrics), productMaxAgeSeconds: config.PRODUCT_MAX_AGE_SECONDS, searchBroadHits: config.SEARCH_BROAD_HITS, ...(config.CATALOG_DEMO_ROUTE ? { seedDemo } : {}) });
      if (config.INVENTORY_URL && config.ORDERS_URL) {
        const services = createCartServices({ inventoryUrl: config.INVENTORY_URL, ordersUrl: config.ORDERS_URL, timeoutMs: config.CART_CALL_TIMEOUT_MS, registry: kit.metrics, log: kit.log });
        const idempotency = createIdempotency({ pool, scope: 'catalog-carts', schema: config.CATALOG_SCHEMA, concurrent: 'wait', registry: kit.metrics, onError: (err, ctx) => kit.log.error({ err, ...ctx }, 'idempotency store error') });
        const sweep = async () => {
          await withSystemContext(pool, 'cart-expiry', () => deleteExpiredCarts(pool, 500, config.CART_EXPIRED_KEEP_SECONDS));
          await idempotency.sweep();
        };
        const sweeper = setInterval(() => void sweep().catch((err: unknown) => kit.log.warn({ err }, 'cart sweep failed')), config.CART_SWEEP_INTERVAL_MS);
        sweeper.unref();
        kit.addDependency({
          name: 'cart-services',
          check: async () => undefined,
          async close() {
            clearInterval(sweeper);
            services.close();
          },
        });
        registerCartRoutes(r, { pool, services, ttlSeconds: config.CART_TTL_SECONDS, idempotency: idempotency.middleware });
      }
    },
  });

  async function prepare(): Promise<void> {
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.CATALOG_SCHEMA, phase: 'all' });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    if (config.INVENTORY_URL && config.ORDERS_URL) await migrateIdempotency({ pool: ownerPool, schema: config.CATALOG_SCHEMA });
    if (events) await events.prepare(ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.CATALOG_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    await products.start();
    await events?.start();
    if (config.CATALOG_SEED_TENANT !== undefined && config.CATALOG_SEED_COUNT > 0) {
      await seedDemoCatalog(ownerPool, config.CATALOG_SEED_TENANT, config.CATALOG_SEED_COUNT, service.log);
    }
  }

  return {
    service,
    get pool() {
      return pool;
    },
    get products() {
      return products;
    },
    get events() {
      return events;
    },
    prepare,
    async start() {
      await prepare();
      return service.start();
    },
  };
}
