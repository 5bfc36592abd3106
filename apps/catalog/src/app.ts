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
import { assertRuntimeRole, createPool, DB_ROLES, grantSchemaAccess, migrate, gatewayTenantScope, type DbPool } from '@bulwark/db';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import type { CatalogConfig } from './config.ts';
import './errors.ts';
import { registerRoutes } from './http/routes.ts';
import { createCatalogMetrics } from './metrics.ts';
import { seedDemoCatalog } from './seed/demo-catalog.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface CatalogAppOptions {
  config: CatalogConfig;
  logDestination?: DestinationStream;
}

export interface CatalogApp {
  readonly service: Service<CatalogConfig>;
  readonly pool: DbPool;
  readonly products: Cache;
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
      registerRoutes(r, { pool, products, metrics: createCatalogMetrics(kit.metrics), productMaxAgeSeconds: config.PRODUCT_MAX_AGE_SECONDS });
    },
  });

  async function prepare(): Promise<void> {
    await ownerPool.query(`CREATE SCHEMA IF NOT EXISTS "${config.CATALOG_SCHEMA}"`);
    await migrate({ pool: ownerPool, dir: MIGRATIONS_DIR, schema: config.CATALOG_SCHEMA, phase: 'all' });
    const runtimeRole = await assertRuntimeRole(pool, ownerPool);
    await grantSchemaAccess({ pool: ownerPool, schema: config.CATALOG_SCHEMA, runtimeRole, reportingRole: DB_ROLES.reporting });
    await products.start();
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
    prepare,
    async start() {
      await prepare();
      return service.start();
    },
  };
}
