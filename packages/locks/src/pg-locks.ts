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
import { LockConfigError, LockNotAcquiredError } from './errors.ts';
import { runHolding } from './held.ts';
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
  /**
   * Makes the session lock a lease: the session gets `idle_session_timeout`
   * = leaseMs and the lease pings it every third of that while held, so a
   * holder that stops (paused, partitioned) for longer has its session ended
   * by the server and the lock freed; its later writes carry a stale token.
   * Default none: a stopped holder keeps the lock until its connection dies.
   */
  leaseMs?: number;
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
    const { leaseMs } = options;
    if (leaseMs !== undefined && (!Number.isInteger(leaseMs) || leaseMs < 30)) throw new LockConfigError(`leaseMs must be a whole number ≥ 30, got ${leaseMs}`);
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
    // A session going back to the pool must not keep the lease's idle timeout.
    const giveBack = async (): Promise<void> => {
      if (leaseMs === undefined) return client.release();
      await client.query('RESET idle_session_timeout').then(
        () => client.release(),
        (err: unknown) => client.release(err instanceof Error ? err : true),
      );
    };
    try {
      // Before the lock, so that no moment exists where the lock is held without the lease.
      if (leaseMs !== undefined) await client.query(`SET idle_session_timeout = ${leaseMs}`);
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
      if (code === LOCK_NOT_AVAILABLE) await giveBack();
      else client.release(true);
      done(code === LOCK_NOT_AVAILABLE ? 'busy' : 'error');
      if (code === LOCK_NOT_AVAILABLE) throw new LockNotAcquiredError(name, `still held after ${waitMs} ms`, err);
      throw err;
    }
    if (token === undefined) {
      await giveBack();
      done('busy');
      throw new LockNotAcquiredError(name, 'held by another session');
    }
    done('acquired');
    return new SessionLease(name, Number(token), key, client, this.#metrics, leaseMs);
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
    return runHolding(name, await this.acquire(name, options), fn, 'the session ended before release');
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
    clearInterval(this.#heartbeat);
  };
  readonly #leased: boolean;
  readonly #heartbeat: NodeJS.Timeout | undefined;

  constructor(name: string, token: number, key: string, client: DbClient, metrics: LockMetrics, leaseMs: number | undefined) {
    this.name = name;
    this.token = token;
    this.#key = key;
    this.#metrics = metrics;
    this.#client = client;
    client.raw.on('error', this.#onError);
    this.#leased = leaseMs !== undefined;
    if (leaseMs !== undefined) {
      this.#heartbeat = setInterval(() => {
        client.query({ name: 'locks.pg.heartbeat', text: 'SELECT 1' }).catch(() => undefined);
      }, Math.floor(leaseMs / 3));
      this.#heartbeat.unref();
    }
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
    clearInterval(this.#heartbeat);
    client.raw.off('error', this.#onError);
    if (this.#broken) {
      client.release(this.#broken);
      return false;
    }
    try {
      let unlocked: boolean | undefined;
      if (this.#leased) {
        const results = (await client.query(`SELECT pg_advisory_unlock(${this.#key}) AS unlocked; RESET idle_session_timeout`)) as unknown as pg.QueryResult<{ unlocked: boolean }>[];
        unlocked = results[0]?.rows[0]?.unlocked;
      } else {
        const { rows } = await client.query<{ unlocked: boolean }>({ name: 'locks.pg.unlock', text: 'SELECT pg_advisory_unlock($1::bigint) AS unlocked', values: [this.#key] });
        unlocked = rows[0]?.unlocked;
      }
      client.release();
      return unlocked === true;
    } catch (err) {
      client.release(err instanceof Error ? err : true);
      return false;
    }
  }
}
