/**
 * Test helpers: the PostgreSQL from global setup, one schema per test
 * (random suffix) holding the key table and a `widgets` table the handlers
 * write, removed at cleanup. Nothing here fakes PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createPool, type DbLogger, type DbPool } from '@bulwark/db';
import { migrateIdempotency } from '../src/index.ts';

export const silent: DbLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function pgUrl(): string {
  const url = process.env.BULWARK_PG_URL;
  if (!url) throw new Error('BULWARK_PG_URL is not set: run tests with `npm test` so global setup starts PostgreSQL');
  return url;
}

export function suffix(): string {
  return randomUUID().replaceAll('-', '').slice(0, 10);
}

export interface TestDb {
  schema: string;
  scope: string;
  pool: DbPool;
  widgets(): Promise<{ name: string; attempt: number }[]>;
  keyRow(key: string): Promise<{ state: string; attempts: number; response_status: number | null } | undefined>;
  defer(fn: () => Promise<unknown> | unknown): void;
  cleanup(): Promise<void>;
}

export async function setupDb(): Promise<TestDb> {
  const id = suffix();
  const schema = `idem_${id}`;
  const scope = `test-${id}`;
  const pool = createPool({ connectionString: pgUrl(), name: `idem_test_${id}`, max: 30, registry: new Registry(), log: silent, searchPath: [schema] });
  await pool.query(`CREATE SCHEMA "${schema}"`);
  await migrateIdempotency({ pool, schema });
  await pool.query(`CREATE TABLE "${schema}".widgets (id serial PRIMARY KEY, name text NOT NULL, attempt int NOT NULL)`);
  const deferred: (() => Promise<unknown> | unknown)[] = [];
  return {
    schema,
    scope,
    pool,
    async widgets() {
      return (await pool.query<{ name: string; attempt: number }>(`SELECT name, attempt FROM "${schema}".widgets ORDER BY id`)).rows;
    },
    async keyRow(key) {
      const { rows } = await pool.query<{ state: string; attempts: number; response_status: number | null }>(`SELECT state, attempts, response_status FROM "${schema}".idempotency_keys WHERE scope = $1 AND key = $2`, [scope, key]);
      return rows[0];
    },
    defer: (fn) => void deferred.push(fn),
    async cleanup() {
      for (const fn of deferred.reverse()) await fn();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.close();
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export async function send(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined, text };
}

/** Polls until `predicate` holds; the deadline only bounds a hang, it asserts nothing about speed. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
