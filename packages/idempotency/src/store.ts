/**
 * SQL of the key store. Every statement is parameterised; the table name is
 * `idempotency_keys`, qualified by the configured schema or resolved through
 * the pool's search_path. A key is (scope, tenant, key): every statement
 * names the tenant, so one tenant never reads another's key or response.
 * Locking uses session advisory locks keyed by a 64-bit hash of
 * (scope, tenant, key), so the lock outlives the transactions of one
 * request and vanishes with the owner's connection when its process dies.
 */
import { fileURLToPath } from 'node:url';
import { migrate, type DbPool, type Queryable } from '@bulwark/db';
import type { KeyState, StoredKey } from './state-machine.ts';

/** Next to src/ and dist/ alike, so the same URL works from sources and from a build. */
export const IDEMPOTENCY_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
const BOOKKEEPING_TABLE = 'bulwark_idempotency_migrations';

/** Creates or upgrades the key table in `schema` (default public); safe from every replica at start. */
export async function migrateIdempotency(options: { pool: DbPool; schema?: string }): Promise<void> {
  await migrate({ pool: options.pool, dir: IDEMPOTENCY_MIGRATIONS_DIR, schema: options.schema ?? 'public', table: BOOKKEEPING_TABLE, phase: 'all' });
}

/** What identifies a key: the middleware's scope, the request's tenant ('' without one) and the Idempotency-Key. */
export interface KeyId {
  scope: string;
  tenant: string;
  key: string;
}

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface KeyRow extends StoredKey {
  response: StoredResponse | undefined;
}

interface RawRow {
  state: KeyState;
  fingerprint: string;
  expires_at: Date;
  attempts: number;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: Buffer | null;
}

function toRow(r: RawRow): KeyRow {
  return {
    state: r.state,
    fingerprint: r.fingerprint,
    expiresAt: r.expires_at,
    attempts: r.attempts,
    response: r.response_status === null ? undefined : { status: r.response_status, headers: r.response_headers ?? {}, body: r.response_body ?? Buffer.alloc(0) },
  };
}

/**
 * A FROM item that turns off synchronous commit for the statement's own
 * (implicit) transaction. Used for the key's bookkeeping writes outside the
 * business transaction (`started`, retries, failures): losing one in a
 * PostgreSQL crash loses nothing else, because the business COMMIT that
 * follows is synchronous and flushes the WAL before it, in order. Saves one
 * fsync per request.
 */
const ASYNC_COMMIT = "SELECT set_config('synchronous_commit', 'off', true)";

function quoteIdent(id: string): string {
  return `"${id.replaceAll('"', '""')}"`;
}

export function createKeyStore(schema: string | undefined) {
  const table = schema ? `${quoteIdent(schema)}.idempotency_keys` : 'idempotency_keys';
  const columns = 'state, fingerprint, expires_at, attempts, response_status, response_headers, response_body';
  return {
    /** Waits for the lock up to `timeoutMs`; false on lock_timeout (55P03). */
    async waitLock(db: Queryable, lockKey: string, timeoutMs: number): Promise<boolean> {
      await db.query({ name: 'idempotency.lock_timeout', text: "SELECT set_config('lock_timeout', $1, false)", values: [`${timeoutMs}ms`] });
      try {
        await db.query({ name: 'idempotency.lock', text: 'SELECT pg_advisory_lock($1::bigint)', values: [lockKey] });
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === '55P03') return false;
        throw err;
      } finally {
        await db.query({ name: 'idempotency.lock_timeout', text: "SELECT set_config('lock_timeout', '0', false)" });
      }
    },
    async unlock(db: Queryable, lockKey: string): Promise<void> {
      await db.query({ name: 'idempotency.unlock', text: 'SELECT pg_advisory_unlock($1::bigint)', values: [lockKey] });
    },
    /**
     * One round trip for the common case: try the key's lock and, only if it
     * was granted, insert a fresh `started` row. `inserted` false with
     * `locked` true means the key exists: read it (a new statement, so a new
     * snapshot taken after the lock).
     */
    async lockAndInsert(db: Queryable, lockKey: string, id: KeyId, fingerprint: string, ttlSeconds: number): Promise<{ locked: boolean; inserted: boolean }> {
      const { rows } = await db.query<{ locked: boolean; inserted: number }>({
        name: 'idempotency.lock_insert',
        text: `WITH l AS MATERIALIZED (SELECT pg_try_advisory_lock($1::bigint) AS locked),
                    ins AS (
                      INSERT INTO ${table} (scope, tenant_id, key, fingerprint, state, expires_at)
                      SELECT $2, $6, $3, $4, 'started', now() + make_interval(secs => $5) FROM l, (${ASYNC_COMMIT}) a WHERE l.locked
                      ON CONFLICT (scope, tenant_id, key) DO NOTHING RETURNING 1
                    )
               SELECT l.locked, (SELECT count(*)::int FROM ins) AS inserted FROM l`,
        values: [lockKey, id.scope, id.key, fingerprint, ttlSeconds, id.tenant],
      });
      return { locked: rows[0]?.locked === true, inserted: rows[0]?.inserted === 1 };
    },
    /** Inserts a fresh `started` row (caller holds the lock); false if the key exists. */
    async insertStarted(db: Queryable, id: KeyId, fingerprint: string, ttlSeconds: number): Promise<boolean> {
      const { rowCount } = await db.query({
        name: 'idempotency.insert',
        text: `INSERT INTO ${table} (scope, tenant_id, key, fingerprint, state, expires_at)
               SELECT $1, $5, $2, $3, 'started', now() + make_interval(secs => $4) FROM (${ASYNC_COMMIT}) a
               ON CONFLICT (scope, tenant_id, key) DO NOTHING`,
        values: [id.scope, id.key, fingerprint, ttlSeconds, id.tenant],
      });
      return rowCount === 1;
    },
    async read(db: Queryable, id: KeyId): Promise<KeyRow | undefined> {
      const { rows } = await db.query<RawRow>({ name: 'idempotency.read', text: `SELECT ${columns} FROM ${table} WHERE scope = $1 AND tenant_id = $3 AND key = $2`, values: [id.scope, id.key, id.tenant] });
      return rows[0] && toRow(rows[0]);
    },
    /** Restarts an expired row as a fresh key. */
    async restartFresh(db: Queryable, id: KeyId, fingerprint: string, ttlSeconds: number): Promise<void> {
      await db.query({
        name: 'idempotency.restart_fresh',
        text: `UPDATE ${table} SET fingerprint = $3, state = 'started', attempts = 1, response_status = NULL, response_headers = NULL, response_body = NULL,
                 created_at = now(), updated_at = now(), expires_at = now() + make_interval(secs => $4)
               FROM (${ASYNC_COMMIT}) a WHERE scope = $1 AND tenant_id = $5 AND key = $2`,
        values: [id.scope, id.key, fingerprint, ttlSeconds, id.tenant],
      });
    },
    /** A retry (after failed_retryable) or a recovery (after a crashed owner). */
    async restartAttempt(db: Queryable, id: KeyId, attempt: number): Promise<void> {
      await db.query({
        name: 'idempotency.restart_attempt',
        text: `UPDATE ${table} SET state = 'started', attempts = $3, updated_at = now() FROM (${ASYNC_COMMIT}) a WHERE scope = $1 AND tenant_id = $4 AND key = $2`,
        values: [id.scope, id.key, attempt, id.tenant],
      });
    },
    /**
     * Records the outcome. `durable`: inside the business transaction, whose
     * COMMIT is synchronous; otherwise (a failure recorded after ROLLBACK) the
     * record commits asynchronously. An upsert, so a row swept while its
     * request ran is written back.
     */
    async finish(db: Queryable, id: KeyId, fingerprint: string, ttlSeconds: number, state: Exclude<KeyState, 'started'>, response: StoredResponse | undefined, durable: boolean): Promise<void> {
      await db.query({
        name: durable ? 'idempotency.finish' : 'idempotency.finish_async',
        text: `INSERT INTO ${table} (scope, tenant_id, key, fingerprint, state, response_status, response_headers, response_body, expires_at)
               SELECT $1, $9, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8)${durable ? '' : ` FROM (${ASYNC_COMMIT}) a`}
               ON CONFLICT (scope, tenant_id, key) DO UPDATE SET state = EXCLUDED.state, response_status = EXCLUDED.response_status,
                 response_headers = EXCLUDED.response_headers, response_body = EXCLUDED.response_body, updated_at = now()`,
        values: [id.scope, id.key, fingerprint, state, response?.status ?? null, response ? JSON.stringify(response.headers) : null, response?.body ?? null, ttlSeconds, id.tenant],
      });
    },
    /** COMMIT and unlock in one round trip (simple protocol; the lock key is a decimal we computed). */
    async commitAndUnlock(db: Queryable, lockKey: string): Promise<void> {
      if (!/^-?\d{1,19}$/.test(lockKey)) throw new Error('lock key must be a decimal bigint');
      await db.query(`COMMIT; SELECT pg_advisory_unlock(${lockKey}::bigint)`);
    },
    /** Deletes expired keys of the scope in batches; returns how many. */
    async sweep(db: Queryable, scope: string, batchSize: number): Promise<number> {
      let total = 0;
      for (;;) {
        const { rowCount } = await db.query({
          name: 'idempotency.sweep',
          text: `DELETE FROM ${table} WHERE (scope, tenant_id, key) IN (SELECT scope, tenant_id, key FROM ${table} WHERE scope = $1 AND expires_at <= now() LIMIT $2 FOR UPDATE SKIP LOCKED)`,
          values: [scope, batchSize],
        });
        total += rowCount ?? 0;
        if ((rowCount ?? 0) < batchSize) return total;
      }
    },
  };
}

export type KeyStore = ReturnType<typeof createKeyStore>;
