/**
 * Test helpers: the real shortener on port 0 against the PostgreSQL, Redis
 * (and, when asked, Kafka) from Jest global setup, each suite in its own
 * schema and Redis prefix (random suffix), removed at cleanup. The service
 * connects as the runtime role (row-level security applies); `call` carries
 * TEST_TENANT as the gateway would, `USER` the verified user it forwards.
 */
import { loadConfig } from '@bulwark/service-kit';
import { devNull, redisUrl, setupServiceBed, tenantCall, TEST_TENANT, type ServiceBed } from '@bulwark/test-support';
import { guardNPlusOne } from '@bulwark/test-support/n-plus-one';
import { createShortenerApp, type ShortenerApp } from '../src/app.ts';
import { shortenerConfigSchema } from '../src/config.ts';

guardNPlusOne();

export type { Reply } from '@bulwark/test-support';

export const USER = { 'x-auth-sub': 'user-1', 'x-auth-roles': 'orders' };
export const OTHER_USER = { 'x-auth-sub': 'user-2', 'x-auth-roles': 'orders' };

export const call = tenantCall(TEST_TENANT);

export type TestShortener = ServiceBed<ShortenerApp>;

export function setupShortener(): Promise<TestShortener> {
  return setupServiceBed({
    name: 'shortener',
    schemaEnv: 'SHORTENER_SCHEMA',
    poolMax: 2,
    create: (env) => createShortenerApp({ config: loadConfig(shortenerConfigSchema, env), logDestination: devNull }),
    env: () => ({ REDIS_URL: redisUrl(), PUBLIC_BASE_URL: 'http://short.test/r/', CLICK_FLUSH_MS: '50' }),
    redisPrefixes: ({ schema }) => [`cache:shortener-links-${schema}`, `ratelimit:${schema}`],
  });
}

/** A redirect as a browser's first hop sees it (not followed). */
export async function follow(url: string, code: string, headers: Record<string, string> = {}): Promise<{ status: number; location: string | null; cacheControl: string | null; body: string }> {
  const res = await fetch(`${url}/r/${code}`, { redirect: 'manual', headers });
  return { status: res.status, location: res.headers.get('location'), cacheControl: res.headers.get('cache-control'), body: await res.text() };
}
