/**
 * Test helpers: the PostgreSQL from global setup, one schema per test
 * (random suffix) holding the key table and a `widgets` table the handlers
 * write, removed at cleanup. Nothing here fakes PostgreSQL.
 */
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { pgUrl, silent, suffix } from '@bulwark/test-support';
import { migrateIdempotency } from '../src/index.ts';

export { silent, pgUrl, suffix } from '@bulwark/test-support';

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

export { call as send, waitFor, type Reply } from '@bulwark/test-support';
