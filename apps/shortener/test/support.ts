/**
 * Test helpers: the real shortener on port 0 against the PostgreSQL, Redis
 * (and, when asked, Kafka) from Jest global setup, each suite in its own
 * schema and Redis prefix (random suffix), removed at cleanup. The service
 * connects as the runtime role (row-level security applies); `call` carries
 * TEST_TENANT as the gateway would, `USER` the verified user it forwards.
 */
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { deletePrefix, pgUrl, redisUrl, runtimeDbUrl, sessionDbUrl, silent, suffix, tenantCall, TEST_TENANT } from '@bulwark/test-support';
import { guardNPlusOne } from '@bulwark/test-support/n-plus-one';
import { createShortenerApp, type ShortenerApp } from '../src/app.ts';
import { shortenerConfigSchema } from '../src/config.ts';

guardNPlusOne();

export type { Reply } from '@bulwark/test-support';

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;

export const USER = { 'x-auth-sub': 'user-1', 'x-auth-roles': 'orders' };
export const OTHER_USER = { 'x-auth-sub': 'user-2', 'x-auth-roles': 'orders' };

export const call = tenantCall(TEST_TENANT);

export interface TestShortener {
  schema: string;
  /** Owner pool with search_path = the test schema (rows it reads are TEST_TENANT's). */
  db: DbPool;
  env(extra?: Record<string, string>): Record<string, string>;
  start(env?: Record<string, string>): Promise<{ app: ShortenerApp; url: string }>;
  cleanup(): Promise<void>;
}

export async function setupShortener(): Promise<TestShortener> {
  const id = suffix();
  const schema = `shortener_${id}`;
  const db = createPool({ connectionString: sessionDbUrl(pgUrl(), { searchPath: schema, tenant: TEST_TENANT }), name: `shortener_test_${id}`, max: 2, registry: new Registry(), log: silent });
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const apps: ShortenerApp[] = [];
  const envOf = (extra: Record<string, string> = {}): Record<string, string> => ({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: runtimeUrl,
    MIGRATION_DATABASE_URL: pgUrl(),
    SHORTENER_SCHEMA: schema,
    REDIS_URL: redisUrl(),
    PUBLIC_BASE_URL: 'http://short.test/r/',
    CLICK_FLUSH_MS: '50',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...extra,
  });
  return {
    schema,
    db,
    env: envOf,
    async start(env = {}) {
      const config = loadConfig(shortenerConfigSchema, envOf(env));
      const app = createShortenerApp({ config, logDestination: devNull as never });
      apps.push(app);
      const { url } = await app.start();
      return { app, url };
    },
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
      await deletePrefix(redisUrl(), `cache:shortener-links-${schema}`);
      await deletePrefix(redisUrl(), `ratelimit:${schema}`);
    },
  };
}

/** A redirect as a browser's first hop sees it (not followed). */
export async function follow(url: string, code: string, headers: Record<string, string> = {}): Promise<{ status: number; location: string | null; cacheControl: string | null; body: string }> {
  const res = await fetch(`${url}/r/${code}`, { redirect: 'manual', headers });
  return { status: res.status, location: res.headers.get('location'), cacheControl: res.headers.get('cache-control'), body: await res.text() };
}
