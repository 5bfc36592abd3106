/**
 * Test helpers: the server URL from global setup, a schema per test, a
 * capturing logger and a bounded poll. Nothing here fakes the database.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createPool, DB_ROLES, DEV_ROLE_PASSWORD, ensureDbRoles, urlForRole, type CreatePoolOptions, type DbLogger, type DbPool } from '../src/index.ts';

export function pgUrl(): string {
  const url = process.env.BULWARK_PG_URL;
  if (!url) throw new Error('BULWARK_PG_URL is not set: run tests with `npm test` so global setup starts PostgreSQL');
  return url;
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export function captureLog(): DbLogger & { entries: LogEntry[]; withMsg(msg: string): LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (obj: object, msg?: string) => void entries.push({ level, obj: obj as Record<string, unknown>, msg });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), withMsg: (msg) => entries.filter((e) => e.msg === msg) };
}

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

/** Polls until `predicate` holds; the deadline only bounds a hang, it asserts nothing about speed. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sums a metric's samples matching `labels`; for histograms pass `series` (e.g. `<name>_count`). */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}, series?: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => series === undefined || (v as { metricName?: string }).metricName === series)
    .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

/** The runtime (RLS-bound) and reporting roles exist; returns their connection URLs. */
export async function roleUrls(): Promise<{ runtime: string; reporting: string }> {
  await ensureDbRoles({ ownerUrl: pgUrl(), password: DEV_ROLE_PASSWORD });
  return { runtime: urlForRole(pgUrl(), DB_ROLES.runtime, DEV_ROLE_PASSWORD), reporting: urlForRole(pgUrl(), DB_ROLES.reporting, DEV_ROLE_PASSWORD) };
}
