/**
 * PostgreSQL advisory locks with fencing tokens, on the platform's pool.
 *
 * Session locks hold a pooled connection from acquire to release (the lock
 * belongs to that session); transaction locks belong to the caller's
 * transaction and end with it. Either way the token is `nextval` of one
 * sequence (CACHE 1), drawn after the lock is granted and in the same
 * statement: the next holder draws only after this one released, and a
 * sequence never goes back, not even when the transaction that drew rolls
 * back, so tokens are strictly increasing per name (and across names, which
 * costs nothing). A per-name counter row would be rolled back with a
 * transaction lock's transaction and hand the next holder the same number.
 */
import type { DbClient, DbPool, Queryable } from '@bulwark/db';
import pg from 'pg';
import type { Registry } from 'prom-client';
import { performance } from 'node:perf_hooks';
import { LockConfigError, LockLostError, LockNotAcquiredError } from './errors.ts';
import { advisoryKey } from './lock-key.ts';
import { createLockMetrics, type LockMetrics } from './metrics.ts';

/** The schema holding the fence sequence unless told otherwise. */
export const DEFAULT_LOCK_SCHEMA = 'bulwark_locks';

/** Creates the schema and its fence sequence if missing (idempotent); run as the schema's owner. */
export async function migrateLocks(options: { pool: Queryable; schema?: string }): Promise<void> {
  const schema = pg.escapeIdentifier(options.schema ?? DEFAULT_LOCK_SCHEMA);
  await options.pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  // CACHE 1 (the default, said aloud): a session caching values would hand out numbers out of order.
  await options.pool.query(`CREATE SEQUENCE IF NOT EXISTS ${schema}.lock_fence AS bigint CACHE 1`);
}

export interface PgLocksOptions {
  pool: DbPool;
  /** Where migrateLocks created the fence sequence. Default `bulwark_locks`. */
  schema?: string;
  /** Where the lock_* series go (metrics.ts); default a private registry. */
  registry?: Registry;
}

export interface PgAcquireOptions {
  /** How long to wait for the lock (PostgreSQL's lock_timeout); 0 tries once. Default 5,000 ms. */
  waitMs?: number;
}

/** A session lock: holds one pooled connection until released. */
export interface PgLease {
  readonly name: string;
  /** Fencing token: strictly larger than every earlier holder's of this name. */
  readonly token: number;
  /** Unlocks and returns the connection; false when the session had lost the lock (its connection broke). Idempotent. */
  release(): Promise<boolean>;
}

const LOCK_NOT_AVAILABLE = '55P03';

export class PgLocks {
  readonly #pool: DbPool;
  readonly #sequence: string;
  readonly #metrics: LockMetrics;

  constructor(options: PgLocksOptions) {
    this.#pool = options.pool;
    this.#metrics = createLockMetrics(options.registry);
    this.#sequence = `${pg.escapeIdentifier(options.schema ?? DEFAULT_LOCK_SCHEMA)}.lock_fence`;
  }

  /** Takes the session lock `name`, waiting up to `waitMs`; throws LockNotAcquiredError when it stays taken. */
  async acquire(name: string, options: PgAcquireOptions = {}): Promise<PgLease> {
    const waitMs = options.waitMs ?? 5_000;
    if (!Number.isInteger(waitMs) || waitMs < 0) throw new LockConfigError(`waitMs must be a whole number ≥ 0, got ${waitMs}`);
    const key = advisoryKey(name);
    const started = performance.now();
    const done = (outcome: 'acquired' | 'busy' | 'error'): void => {
      this.#metrics.acquisitions.inc({ kind: 'pg_session', outcome });
      this.#metrics.waitSeconds.observe({ kind: 'pg_session' }, (performance.now() - started) / 1000);
    };
    let client: DbClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      done('error');
      throw err;
    }
    let token: string | undefined;
    try {
      // A free lock (the usual case) costs one prepared round trip; only a taken one pays for the wait's three statements.
      const { rows } = await client.query<{ token: string }>({
        name: 'locks.pg.try',
        text: `WITH l AS MATERIALIZED (SELECT pg_try_advisory_lock($1::bigint) AS locked) SELECT nextval('${this.#sequence}')::text AS token FROM l WHERE locked`,
        values: [key],
      });
      token = rows[0]?.token;
      if (token === undefined && waitMs > 0) {
        // One round trip in one implicit transaction: a lock timeout rolls the SET back with it.
        const results = (await client.query(
          `SET lock_timeout = ${waitMs}; WITH l AS MATERIALIZED (SELECT pg_advisory_lock(${key})) SELECT nextval('${this.#sequence}')::text AS token FROM l; RESET lock_timeout`,
        )) as unknown as pg.QueryResult<{ token: string }>[];
        token = results[1]?.rows[0]?.token;
      }
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // Not granted: the session holds nothing, keep the connection. Anything else: the lock may be held, close it.
      client.release(code === LOCK_NOT_AVAILABLE ? undefined : true);
      done(code === LOCK_NOT_AVAILABLE ? 'busy' : 'error');
      if (code === LOCK_NOT_AVAILABLE) throw new LockNotAcquiredError(name, `still held after ${waitMs} ms`, err);
      throw err;
    }
    if (token === undefined) {
      client.release();
      done('busy');
      throw new LockNotAcquiredError(name, 'held by another session');
    }
    done('acquired');
    return new SessionLease(name, Number(token), key, client, this.#metrics);
  }

  /** Takes the session lock if free, else undefined. */
  async tryAcquire(name: string): Promise<PgLease | undefined> {
    try {
      return await this.acquire(name, { waitMs: 0 });
    } catch (err) {
      if (err instanceof LockNotAcquiredError) return undefined;
      throw err;
    }
  }

  /** Runs `fn` under the session lock and releases it however `fn` ends; LockLostError if the session lost it meanwhile. */
  async withLock<T>(name: string, fn: (lease: PgLease) => Promise<T>, options: PgAcquireOptions = {}): Promise<T> {
    const lease = await this.acquire(name, options);
    let result: T;
    try {
      result = await fn(lease);
    } catch (err) {
      await lease.release().catch(() => undefined);
      throw err;
    }
    if (!(await lease.release())) throw new LockLostError(name, 'the session ended before release');
    return result;
  }

  /**
   * Takes the transaction lock `name` inside the caller's open transaction
   * `tx` (it ends with the transaction) and returns its fencing token. Waits
   * as long as the transaction's lock_timeout allows (`SET LOCAL lock_timeout`).
   */
  async lockInTransaction(tx: Queryable, name: string): Promise<number> {
    const { rows } = await this.#measured(tx, {
      name: 'locks.pg.xact',
      text: `WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock($1::bigint)) SELECT nextval('${this.#sequence}')::text AS token FROM l`,
      values: [advisoryKey(name)],
    });
    return Number(rows[0]!.token);
  }

  /** As lockInTransaction, without waiting: undefined when another transaction or session holds it. */
  async tryLockInTransaction(tx: Queryable, name: string): Promise<number | undefined> {
    const { rows } = await this.#measured(tx, {
      name: 'locks.pg.xact_try',
      text: `WITH l AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($1::bigint) AS locked) SELECT nextval('${this.#sequence}')::text AS token FROM l WHERE locked`,
      values: [advisoryKey(name)],
    });
    return rows[0] === undefined ? undefined : Number(rows[0].token);
  }

  async #measured(tx: Queryable, query: { name: string; text: string; values: unknown[] }): Promise<pg.QueryResult<{ token: string }>> {
    const started = performance.now();
    let outcome: 'acquired' | 'busy' | 'error' = 'error';
    try {
      const result = await tx.query<{ token: string }>(query);
      outcome = result.rows.length > 0 ? 'acquired' : 'busy';
      return result;
    } catch (err) {
      if ((err as { code?: unknown }).code === LOCK_NOT_AVAILABLE) outcome = 'busy';
      throw err;
    } finally {
      this.#metrics.acquisitions.inc({ kind: 'pg_xact', outcome });
      this.#metrics.waitSeconds.observe({ kind: 'pg_xact' }, (performance.now() - started) / 1000);
    }
  }
}

class SessionLease implements PgLease {
  readonly name: string;
  readonly token: number;
  readonly #key: string;
  readonly #metrics: LockMetrics;
  readonly #acquiredAt = performance.now();
  #client: DbClient | undefined;
  #held: Promise<boolean> | undefined;
  /** Set when the session ends under us (terminated, network): the lock went with it. */
  #broken: Error | undefined;
  // pg-pool listens for errors on idle clients only; a held one that breaks would throw an unhandled 'error'.
  readonly #onError = (err: Error): void => {
    this.#broken = err;
  };

  constructor(name: string, token: number, key: string, client: DbClient, metrics: LockMetrics) {
    this.name = name;
    this.token = token;
    this.#key = key;
    this.#metrics = metrics;
    this.#client = client;
    client.raw.on('error', this.#onError);
  }

  release(): Promise<boolean> {
    this.#held ??= this.#unlock().then((held) => {
      this.#metrics.heldSeconds.observe({ kind: 'pg_session' }, (performance.now() - this.#acquiredAt) / 1000);
      if (!held) this.#metrics.lost.inc({ kind: 'pg_session' });
      return held;
    });
    return this.#held;
  }

  async #unlock(): Promise<boolean> {
    const client = this.#client!;
    this.#client = undefined;
    client.raw.off('error', this.#onError);
    if (this.#broken) {
      client.release(this.#broken);
      return false;
    }
    try {
      const { rows } = await client.query<{ unlocked: boolean }>({ name: 'locks.pg.unlock', text: 'SELECT pg_advisory_unlock($1::bigint) AS unlocked', values: [this.#key] });
      client.release();
      return rows[0]?.unlocked === true;
    } catch (err) {
      client.release(err instanceof Error ? err : true);
      return false;
    }
  }
}
