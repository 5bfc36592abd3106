/**
 * Test helpers: the server URL from global setup, a schema per test, a
 * capturing logger and a bounded poll. Nothing here fakes the database.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Registry } from 'prom-client';
import { captureLog, pgUrl } from '@bulwark/test-support';
import { createPool, DB_ROLES, DEV_ROLE_PASSWORD, ensureDbRoles, urlForRole, type CreatePoolOptions, type DbPool } from '../src/index.ts';

export { pgUrl, captureLog, waitFor, registryValue as metricValue, type LogEntry } from '@bulwark/test-support';

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/** Runs SQL on a one-off superuser connection (schema setup and teardown). */
export async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function createSchema(): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = uniqueName('test');
  await admin(`CREATE SCHEMA ${schema}`);
  return { schema, drop: () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
}

export type TestPool = DbPool & { registry: Registry; log: ReturnType<typeof captureLog> };

export function testPool(overrides: Partial<CreatePoolOptions> = {}): TestPool {
  const registry = new Registry();
  const log = captureLog();
  const pool = createPool({ connectionString: pgUrl(), name: uniqueName('pool'), registry, log, ...overrides });
  return Object.assign(pool, { registry, log });
}

/** The runtime (RLS-bound) and reporting roles exist; returns their connection URLs. */
export async function roleUrls(): Promise<{ runtime: string; reporting: string }> {
  await ensureDbRoles({ ownerUrl: pgUrl(), password: DEV_ROLE_PASSWORD });
  return { runtime: urlForRole(pgUrl(), DB_ROLES.runtime, DEV_ROLE_PASSWORD), reporting: urlForRole(pgUrl(), DB_ROLES.reporting, DEV_ROLE_PASSWORD) };
}
