/**
 * Test helpers: the real catalog service on port 0 against the PostgreSQL
 * from Jest global setup, each suite in its own schema (random suffix),
 * removed at cleanup. The service connects as the runtime role (row-level
 * security applies) and migrates as the owner; `call` carries TEST_TENANT as
 * the gateway would, `ADMIN` the verified admin principal it forwards.
 */
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { pgUrl, redisUrl, runtimeDbUrl, sessionDbUrl, silent, suffix, tenantCall, TEST_TENANT } from '@bulwark/test-support';
import { guardNPlusOne } from '@bulwark/test-support/n-plus-one';
import { createCatalogApp, type CatalogApp } from '../src/app.ts';
import { catalogConfigSchema } from '../src/config.ts';

// Every test that imports this file fails on N+1 queries in a request or job (@bulwark/test-support/n-plus-one).
guardNPlusOne();

export type { Reply } from '@bulwark/test-support';

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;

/** The headers the gateway sets for a verified admin. */
export const ADMIN = { 'x-auth-sub': 'admin-1', 'x-auth-roles': 'admin' };
/** A verified customer: may read, not write. */
export const CUSTOMER = { 'x-auth-sub': 'customer-1', 'x-auth-roles': 'orders' };

export const call = tenantCall(TEST_TENANT);

export interface TestCatalog {
  schema: string;
  /** Admin pool (owner) with search_path = the test schema; rows it writes belong to TEST_TENANT. */
  db: DbPool;
  /** The environment start() configures an app with (for a child process running src/main.ts). */
  env(extra?: Record<string, string>): Record<string, string>;
  start(env?: Record<string, string>): Promise<{ app: CatalogApp; url: string }>;
  cleanup(): Promise<void>;
}

export async function setupCatalog(): Promise<TestCatalog> {
  const id = suffix();
  const schema = `catalog_${id}`;
  const db = createPool({ connectionString: sessionDbUrl(pgUrl(), { searchPath: schema, tenant: TEST_TENANT }), name: `catalog_test_${id}`, max: 4, registry: new Registry(), log: silent });
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const apps: CatalogApp[] = [];
  const envOf = (extra: Record<string, string> = {}): Record<string, string> => ({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: runtimeUrl,
    MIGRATION_DATABASE_URL: pgUrl(),
    CATALOG_SCHEMA: schema,
    REDIS_URL: redisUrl(),
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...extra,
  });
  return {
    schema,
    db,
    env: envOf,
    async start(env = {}) {
      const config = loadConfig(catalogConfigSchema, envOf(env));
      const app = createCatalogApp({ config, logDestination: devNull as never });
      apps.push(app);
      const { url } = await app.start();
      return { app, url };
    },
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
    },
  };
}

/** A valid product body; `over` replaces fields. */
export function productBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  const slug = (over.slug as string | undefined) ?? `p-${suffix(6).toLowerCase()}`;
  return {
    slug,
    name: 'Stoneware Coffee Mug',
    brand: 'Acme',
    description: 'A sturdy mug for hot drinks.',
    category: 'mugs',
    tags: ['ceramic', 'gift'],
    images: ['https://images.example.test/mug.jpg'],
    variants: [
      { sku: `${slug}-blue`, attributes: { colour: 'blue' }, price: { amount: 1299, currency: 'EUR' } },
      { sku: `${slug}-red`, attributes: { colour: 'red' }, price: { amount: 1499, currency: 'EUR' } },
    ],
    ...over,
  };
}
