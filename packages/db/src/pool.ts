/**
 * The instrumented PostgreSQL pool: a `pg.Pool` with Prometheus metrics,
 * leak detection, statement and acquire timeouts, typed backpressure
 * (PoolExhaustedError) and an optional autoscaler that moves the connection
 * cap between `min` and `max`.
 *
 * Resizing relies on pg-pool reading `pool.options.max` on every acquire:
 * growing raises the cap and opens connections for the callers already
 * queued; shrinking lowers the cap and closes idle connections above it, while
 * busy ones are closed by the idle timeout after they come back.
 */
import pg from 'pg';
import type { Histogram, Registry } from 'prom-client';
import {
  DEFAULT_AUTOSCALE,
  INITIAL_AUTOSCALE_STATE,
  assertAutoscaleConfig,
  decidePoolSize,
  type AutoscaleConfig,
  type AutoscaleState,
} from './autoscale.ts';
import { DbUnavailableError, PoolClosedError, PoolExhaustedError, StatementTimeoutError, sqlStateOf } from './errors.ts';
import { metricsFor, statementLabel, type DbMetrics, type PoolGaugeSource } from './metrics.ts';

/** A pino-compatible logger: object first, message second. */
export interface DbLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface AutoscaleOptions extends Partial<Omit<AutoscaleConfig, 'min' | 'max'>> {
  /** Sampling period; default 1000 ms. */
  intervalMs?: number;
  /** Cap at start; default `min` (at least 1). */
  initialSize?: number;
}

export interface CreatePoolOptions {
  connectionString: string;
  /** Names the pool in metrics, logs and `application_name`. */
  name: string;
  /** Connections kept open when idle, and the autoscaler's floor. Default 0. */
  min?: number;
  /** Hard cap on connections. Default 10. */
  max?: number;
  /** Server-side `statement_timeout` set on each connection; 0 disables. Default 30 s. */
  statementTimeoutMs?: number;
  /** How long a caller may wait for a connection before PoolExhaustedError. Default 5 s. */
  acquireTimeoutMs?: number;
  /** A client checked out longer than this is logged once and counted; 0 disables. Default 30 s. */
  leakThresholdMs?: number;
  /** Idle connections above `min` close after this. Default 10 s. */
  idleTimeoutMs?: number;
  /** Deadline of `check()`. Default 2 s. */
  checkTimeoutMs?: number;
  /** Schemas for `search_path` on each connection. */
  searchPath?: readonly string[];
  /** Distinct statement names per registry before names become "other". Default 200. */
  maxStatementNames?: number;
  registry: Registry;
  log: DbLogger;
  /** Dynamic sizing between min and max; off (fixed at max) when absent. */
  autoscale?: AutoscaleOptions;
}

/**
 * A query: `name` labels metrics. It creates a prepared statement only with
 * `prepare: true`: then each connection parses the text once under that name
 * and afterwards only binds and executes it, so PostgreSQL can keep its plan.
 * For hot statements with a constant text; a name must never be reused for
 * another text.
 */
export interface DbQuery {
  name?: string;
  text: string;
  values?: readonly unknown[];
  prepare?: boolean;
}

export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(query: DbQuery | string, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
}

export interface DbClient extends Queryable {
  /** Returns the client; pass `true` or an Error to close it instead (after a broken session). */
  release(destroy?: boolean | Error): void;
  /** The underlying pg client, for COPY, LISTEN and the like. */
  readonly raw: pg.PoolClient;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  /** Current cap. */
  size: number;
  min: number;
  max: number;
}

export interface DbPool extends Queryable {
  readonly name: string;
  /** Checks out a client; always `release()` it (prefer `withClient`). */
  connect(): Promise<DbClient>;
  /** Runs `fn` with a client and releases it however `fn` ends. */
  withClient<T>(fn: (client: DbClient) => Promise<T>): Promise<T>;
  /** Readiness: SELECT 1 within the check timeout; throws DbUnavailableError otherwise. */
  check(signal?: AbortSignal): Promise<void>;
  stats(): PoolStats;
  /** Sets the connection cap, clamped to [min, max]; the autoscaler calls this. */
  resize(size: number, reason?: string): void;
  /** Stops the autoscaler and closes every connection once released. Idempotent. */
  close(): Promise<void>;
}

/** What other modules of this package need from a pool; not exported publicly. */
export interface PoolInternals {
  name: string;
  log: DbLogger;
  metrics: DbMetrics;
}

const internals = new WeakMap<DbPool, PoolInternals>();

export function poolInternals(pool: DbPool): PoolInternals {
  const found = internals.get(pool);
  if (!found) throw new Error('not a pool created by @bulwark/db createPool()');
  return found;
}

const PG_QUEUE_TIMEOUT = 'timeout exceeded when trying to connect';
const PG_POOL_ENDED = 'Cannot use a pool after calling end on the pool';

function quoteIdent(id: string): string {
  return `"${id.replaceAll('"', '""')}"`;
}

export function createPool(options: CreatePoolOptions): DbPool {
  const name = options.name;
  const min = options.min ?? 0;
  const max = options.max ?? 10;
  const acquireTimeoutMs = options.acquireTimeoutMs ?? 5_000;
  const leakThresholdMs = options.leakThresholdMs ?? 30_000;
  const checkTimeoutMs = options.checkTimeoutMs ?? 2_000;
  const maxStatementNames = options.maxStatementNames ?? 200;
  const log = options.log;
  const metrics = metricsFor(options.registry);

  const autoscale: (AutoscaleConfig & { intervalMs: number }) | undefined = options.autoscale
    ? { ...DEFAULT_AUTOSCALE, ...options.autoscale, min, max, intervalMs: options.autoscale.intervalMs ?? 1_000 }
    : undefined;
  assertAutoscaleConfig({ ...DEFAULT_AUTOSCALE, ...autoscale, min, max });
  let size = autoscale ? Math.min(max, Math.max(min, 1, options.autoscale?.initialSize ?? min)) : max;

  const statementTimeoutMs = options.statementTimeoutMs ?? 30_000;
  const pgPool = new pg.Pool({
    connectionString: options.connectionString,
    application_name: name,
    min,
    max: size,
    connectionTimeoutMillis: acquireTimeoutMs,
    idleTimeoutMillis: options.idleTimeoutMs ?? 10_000,
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
    ...(options.searchPath ? { options: `-c search_path=${options.searchPath.map(quoteIdent).join(',')}` } : {}),
  });
  let closed = false;
  let closing: Promise<void> | undefined;

  // Errors on idle clients (server restart, network cut) are emitted here; the
  // pool has already dropped the client, so log and count, never crash.
  pgPool.on('error', (err) => {
    metrics.errors.inc({ pool: name, sqlstate: sqlStateOf(err) ?? 'client' });
    log.warn({ pool: name, err }, 'idle database client failed');
  });

  const gaugeSource: PoolGaugeSource = {
    name,
    total: () => pgPool.totalCount,
    idle: () => pgPool.idleCount,
    waiting: () => pgPool.waitingCount,
    size: () => size,
  };
  metrics.pools.add(gaugeSource);

  function translateAcquireError(err: unknown): Error {
    const message = err instanceof Error ? err.message : String(err);
    if (message === PG_QUEUE_TIMEOUT) {
      metrics.exhausted.inc({ pool: name });
      log.warn({ pool: name, acquireTimeoutMs, waiting: pgPool.waitingCount, size }, 'database pool exhausted');
      return new PoolExhaustedError(name, acquireTimeoutMs, err);
    }
    if (message === PG_POOL_ENDED) return new PoolClosedError(name);
    metrics.errors.inc({ pool: name, sqlstate: sqlStateOf(err) ?? 'client' });
    log.error({ pool: name, err }, 'database connection failed');
    return new DbUnavailableError(name, 'cannot open a connection', err);
  }

  // Labelled children resolved once (per statement): no label hashing on the per-query path.
  const acquireWait = metrics.acquireWait.labels({ pool: name });
  const queryDuration = new Map<string, Histogram.Internal<'pool' | 'statement'>>();
  const durationOf = (statement: string): Histogram.Internal<'pool' | 'statement'> => {
    let child = queryDuration.get(statement);
    if (!child) queryDuration.set(statement, (child = metrics.queryDuration.labels({ pool: name, statement })));
    return child;
  };

  async function acquireRaw(): Promise<pg.PoolClient> {
    if (closed) throw new PoolClosedError(name);
    const started = performance.now();
    try {
      return await pgPool.connect();
    } catch (err) {
      throw translateAcquireError(err);
    } finally {
      acquireWait.observe((performance.now() - started) / 1000);
    }
  }

  async function runQuery<R extends pg.QueryResultRow>(client: pg.PoolClient, query: DbQuery | string, values?: readonly unknown[]): Promise<pg.QueryResult<R>> {
    const q: DbQuery = typeof query === 'string' ? { text: query, ...(values ? { values } : {}) } : query;
    const statement = statementLabel(metrics, q.name, maxStatementNames);
    const started = performance.now();
    try {
      const config: pg.QueryConfig = { text: q.text };
      if (q.values) config.values = q.values as unknown[];
      if (q.prepare && q.name) config.name = q.name;
      return await client.query<R>(config);
    } catch (err) {
      const sqlstate = sqlStateOf(err);
      metrics.errors.inc({ pool: name, sqlstate: sqlstate ?? 'client' });
      if (sqlstate === '57014' && err instanceof Error && err.message.includes('statement timeout')) {
        throw new StatementTimeoutError(statement, err);
      }
      throw err;
    } finally {
      durationOf(statement).observe((performance.now() - started) / 1000);
    }
  }

  function track(client: pg.PoolClient): DbClient {
    const acquiredAt = performance.now();
    // The stack is captured now but formatted (the expensive part) only if the client leaks.
    const acquiredBy = leakThresholdMs > 0 ? new Error('database client acquired here') : undefined;
    let leaked = false;
    let released = false;
    const leakTimer =
      leakThresholdMs > 0
        ? setTimeout(() => {
            leaked = true;
            metrics.leaks.inc({ pool: name });
            log.warn({ pool: name, leakThresholdMs, heldMs: Math.round(performance.now() - acquiredAt), stack: acquiredBy?.stack }, 'database client held past leak threshold');
          }, leakThresholdMs)
        : undefined;
    leakTimer?.unref();
    return {
      raw: client,
      query: (query, values) => runQuery(client, query, values),
      release(destroy) {
        if (released) {
          log.warn({ pool: name, stack: new Error('released again here').stack }, 'database client released twice');
          return;
        }
        released = true;
        clearTimeout(leakTimer);
        if (leaked) log.info({ pool: name, heldMs: Math.round(performance.now() - acquiredAt) }, 'leaked database client released');
        client.release(destroy);
      },
    };
  }

  // pg-pool itself drops a client whose connection broke when it is released,
  // so callers only pass `destroy` when they left the session in a bad state.
  async function withClient<T>(fn: (client: DbClient) => Promise<T>): Promise<T> {
    const client = track(await acquireRaw());
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  }

  function resize(requested: number, reason = 'manual'): void {
    const next = Math.min(max, Math.max(min, 1, Math.round(requested)));
    if (next === size || closed) return;
    const previous = size;
    size = next;
    pgPool.options.max = next;
    metrics.resizes.inc({ pool: name, direction: next > previous ? 'grow' : 'shrink' });
    log.info({ pool: name, from: previous, to: next, reason, waiting: pgPool.waitingCount, total: pgPool.totalCount }, 'database pool resized');
    if (next > previous) {
      // Queued callers are only served when a client is released; open the new
      // connections now and hand them over by releasing them straight away.
      const open = pgPool.idleCount === 0 ? Math.min(pgPool.waitingCount, next - pgPool.totalCount) : 0;
      for (let i = 0; i < open; i++) {
        pgPool.connect().then((c) => c.release(), () => undefined);
      }
    } else {
      const excess = Math.min(pgPool.idleCount, pgPool.totalCount - next);
      for (let i = 0; i < excess; i++) {
        pgPool.connect().then(
          (c) => c.release(pgPool.totalCount > size),
          () => undefined,
        );
      }
    }
  }

  let autoscaleTimer: NodeJS.Timeout | undefined;
  if (autoscale) {
    let state: AutoscaleState = INITIAL_AUTOSCALE_STATE;
    autoscaleTimer = setInterval(() => {
      const decision = decidePoolSize({ size, busy: pgPool.totalCount - pgPool.idleCount, waiting: pgPool.waitingCount }, state, autoscale);
      state = decision.state;
      if (decision.size !== size) resize(decision.size, `autoscale ${decision.reason}`);
    }, autoscale.intervalMs);
    autoscaleTimer.unref();
  }

  const pool: DbPool = {
    name,
    connect: async () => track(await acquireRaw()),
    withClient,
    // One statement on a client the pool hands out and takes back itself: nothing can leak, so no leak tracking.
    async query(query, values) {
      const client = await acquireRaw();
      try {
        return await runQuery(client, query, values);
      } finally {
        client.release();
      }
    },
    async check(signal) {
      const deadline = AbortSignal.timeout(checkTimeoutMs);
      const abort = signal ? AbortSignal.any([signal, deadline]) : deadline;
      const probe = withClient((client) => client.query({ name: 'db.check', text: 'SELECT 1' }));
      probe.catch(() => undefined);
      try {
        await new Promise<void>((resolve, reject) => {
          if (abort.aborted) return reject(abort.reason as Error);
          const onAbort = () => reject(abort.reason as Error);
          abort.addEventListener('abort', onAbort, { once: true });
          probe.then(() => resolve(), reject).finally(() => abort.removeEventListener('abort', onAbort));
        });
      } catch (err) {
        throw err instanceof DbUnavailableError ? err : new DbUnavailableError(name, 'readiness check failed', err);
      }
    },
    stats: () => ({ total: pgPool.totalCount, idle: pgPool.idleCount, waiting: pgPool.waitingCount, size, min, max }),
    resize,
    close() {
      if (!closing) {
        closed = true;
        clearInterval(autoscaleTimer);
        metrics.pools.delete(gaugeSource);
        closing = pgPool.end();
      }
      return closing;
    },
  };
  internals.set(pool, { name, log, metrics });
  return pool;
}
