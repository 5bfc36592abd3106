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
 *
 * Tenants: every transaction opened on a pooled client (a `BEGIN` sent
 * through it, as withTransaction does) carries the caller's DbContext
 * (tenant-context.ts) in the same message as `SET LOCAL bulwark.tenant = …`;
 * a single `pool.query` under a context runs as one extended-protocol batch
 * with a `set_config(…, true)` and one Sync (scoped-query.ts), or, for a
 * simple-protocol text, in such a transaction. Callers of one tenant hold at most
 * `tenantMaxConnections` connections at once; the rest of that tenant queues
 * in front of the pool, so it cannot take every connection from the others.
 *
 * The acquire deadline, the closed state and the tenant queue are this
 * module's own, so errors are classified by what happened here, never by
 * matching pg-pool's messages (issue 26).
 */
import type { Logger } from '@bulwark/service-kit/logging';
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
import { bindCredentials, type DbCredentials } from './credentials.ts';
import { DbUnavailableError, PoolClosedError, PoolExhaustedError, StatementTimeoutError, TenantRequiredError, sqlStateOf } from './errors.ts';
import { metricsFor, statementLabel, type DbMetrics, type PoolGaugeSource } from './metrics.ts';
import { explainerFor } from './explain.ts';
import { PoolTracking, type QueryTrackingOptions } from './query-tracking.ts';
import { queryScoped, type ScopeSetting } from './scoped-query.ts';
import { currentDbContext, type DbContext } from './tenant-context.ts';

/** The service kit's Logger, under the name the package's callers know. */
export type DbLogger = Logger;

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
  /**
   * How long opening a new connection may take before DbUnavailableError (a caller whose connection is
   * being opened waits for this, not for the acquire deadline). Default: acquireTimeoutMs.
   */
  connectTimeoutMs?: number;
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
  /**
   * Connections one tenant may hold at once (callers in a tenant context);
   * its further callers queue in FIFO order behind it. Default half of `max`
   * (at least 1). System and context-free work is not limited.
   */
  tenantMaxConnections?: number;
  /**
   * Per request/job statement counts, N+1 detection and slow-query plans
   * (query-tracking.ts); `false` turns tracking off for this pool. On by default.
   */
  tracking?: QueryTrackingOptions | false;
  /**
   * Rotating credentials (credentials.ts): each new connection logs in as
   * the user and password they name at that moment, not the URL's.
   */
  credentials?: DbCredentials;
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
  /** Callers queued behind their tenant's concurrency limit. */
  tenantWaiting: number;
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

const BEGIN = /^\s*(?:BEGIN|START\s+TRANSACTION)\b/i;

/**
 * The statement that scopes a transaction to `context`; sent with its BEGIN
 * in one simple-protocol message. `SET LOCAL` is a utility statement: no
 * planning and no row to send back, where `SELECT set_config(…, true)` (same
 * effect) was planned and answered with a row description and a row.
 * Inside the explicit transaction block BEGIN opens it is SET LOCAL proper:
 * it ends with the transaction, committed or rolled back.
 */
export function contextSql(context: DbContext): string {
  return context.kind === 'tenant' ? `SET LOCAL bulwark.tenant = ${pg.escapeLiteral(context.tenant)}` : "SET LOCAL bulwark.system = 'on'";
}

/** True when pg would send `query` in the extended protocol (so it holds exactly one statement). */
function usesExtendedProtocol(query: DbQuery | string, values?: readonly unknown[]): boolean {
  if (typeof query === 'string') return (values?.length ?? 0) > 0;
  return (query.values?.length ?? values?.length ?? 0) > 0 || (query.prepare === true && query.name !== undefined);
}

/** The setting that scopes a single extended-protocol statement to `context` (scoped-query.ts). */
function scopeSetting(context: DbContext): ScopeSetting {
  return context.kind === 'tenant' ? ['bulwark.tenant', context.tenant] : ['bulwark.system', 'on'];
}

/** A per-tenant counting semaphore with a FIFO queue. */
interface TenantGate {
  active: number;
  waiters: Array<{ grant(): void }>;
}

function quoteIdent(id: string): string {
  return `"${id.replaceAll('"', '""')}"`;
}

export function createPool(options: CreatePoolOptions): DbPool {
  const name = options.name;
  const min = options.min ?? 0;
  const max = options.max ?? 10;
  const acquireTimeoutMs = options.acquireTimeoutMs ?? 5_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? acquireTimeoutMs;
  const leakThresholdMs = options.leakThresholdMs ?? 30_000;
  const checkTimeoutMs = options.checkTimeoutMs ?? 2_000;
  const maxStatementNames = options.maxStatementNames ?? 200;
  const log = options.log;
  const metrics = metricsFor(options.registry);
  const tracking = options.tracking === false ? undefined : new PoolTracking(name, log, options.registry, options.tracking);

  const autoscale: (AutoscaleConfig & { intervalMs: number }) | undefined = options.autoscale
    ? { ...DEFAULT_AUTOSCALE, ...options.autoscale, min, max, intervalMs: options.autoscale.intervalMs ?? 1_000 }
    : undefined;
  assertAutoscaleConfig({ ...DEFAULT_AUTOSCALE, ...autoscale, min, max });
  let size = autoscale ? Math.min(max, Math.max(min, 1, options.autoscale?.initialSize ?? min)) : max;

  const statementTimeoutMs = options.statementTimeoutMs ?? 30_000;
  const tenantMax = options.tenantMaxConnections ?? Math.max(1, Math.floor(max / 2));
  if (!Number.isInteger(tenantMax) || tenantMax < 1) throw new Error(`tenantMaxConnections must be a positive integer, got ${tenantMax}`);
  // Opening a connection is bounded by the client itself; waiting in the
  // queue is bounded by acquire() below, so pg-pool gets no timeout of its own.
  // Pipeline mode (a documented pg option) lets a scoped single statement send
  // BEGIN, the statement and COMMIT in one round trip; callers that await each
  // query, as every other path does, see no difference.
  class BoundedClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super({ ...(typeof config === 'string' ? { connectionString: config } : config), connectionTimeoutMillis: connectTimeoutMs, pipeline: true } as pg.ClientConfig);
      if (options.credentials) bindCredentials(this, options.credentials);
    }
  }
  const pgPool = new pg.Pool({
    Client: BoundedClient,
    connectionString: options.connectionString,
    application_name: name,
    min,
    max: size,
    idleTimeoutMillis: options.idleTimeoutMs ?? 10_000,
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
    ...(options.searchPath ? { options: `-c search_path=${options.searchPath.map(quoteIdent).join(',')}` } : {}),
  });
  let closed = false;
  let closing: Promise<void> | undefined;
  const gates = new Map<string, TenantGate>();
  let tenantWaiting = 0;
  /** Acquires in flight, failed with PoolClosedError by close(). */
  const pending = new Set<(err: Error) => void>();

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
    tenantWaiting: () => tenantWaiting,
  };
  metrics.pools.add(gaugeSource);

  // Labelled children resolved once (per statement): no label hashing on the per-query path.
  const acquireWait = metrics.acquireWait.labels({ pool: name });
  const queryDuration = new Map<string, Histogram.Internal<'pool' | 'statement'>>();
  const durationOf = (statement: string): Histogram.Internal<'pool' | 'statement'> => {
    let child = queryDuration.get(statement);
    if (!child) queryDuration.set(statement, (child = metrics.queryDuration.labels({ pool: name, statement })));
    return child;
  };

  /** Takes a place in the tenant's gate (waiting in FIFO order when it is full); returns how to give it back. */
  function enterGate(tenant: string, wait: { onAbort(cb: (err: Error) => void): void }): Promise<() => void> | (() => void) {
    let gate = gates.get(tenant);
    if (!gate) gates.set(tenant, (gate = { active: 0, waiters: [] }));
    const g = gate;
    const leave = () => {
      const next = g.waiters.shift();
      if (next) {
        tenantWaiting--;
        next.grant(); // the place passes on: active stays
      } else if (--g.active === 0) gates.delete(tenant);
    };
    if (g.active < tenantMax) {
      g.active++;
      return leave;
    }
    metrics.tenantQueued.inc({ pool: name });
    tenantWaiting++;
    return new Promise((resolve, reject) => {
      const waiter = { grant: () => resolve(leave) };
      g.waiters.push(waiter);
      wait.onAbort((err) => {
        const at = g.waiters.indexOf(waiter);
        if (at === -1) return;
        g.waiters.splice(at, 1);
        tenantWaiting--;
        reject(err);
      });
    });
  }

  function exhausted(): PoolExhaustedError {
    metrics.exhausted.inc({ pool: name });
    log.warn({ pool: name, acquireTimeoutMs, waiting: pgPool.waitingCount, tenantWaiting, size }, 'database pool exhausted');
    return new PoolExhaustedError(name, acquireTimeoutMs);
  }

  function unavailable(err: unknown): DbUnavailableError {
    metrics.errors.inc({ pool: name, sqlstate: sqlStateOf(err) ?? 'client' });
    log.error({ pool: name, err }, 'database connection failed');
    return new DbUnavailableError(name, 'cannot open a connection', err);
  }

  /**
   * A connection, within the acquire deadline: first a place in the caller's
   * tenant gate, then a client from pg-pool. The deadline, close() and the
   * pool's own errors end the wait; each is told apart by where it happened.
   */
  async function acquireRaw(): Promise<{ client: pg.PoolClient; leave: () => void }> {
    if (closed) throw new PoolClosedError(name);
    const started = performance.now();
    const context = currentDbContext();
    let abort: ((err: Error) => void) | undefined;
    let aborted: Error | undefined;
    const onAbort = (cb: (err: Error) => void) => {
      if (aborted) cb(aborted);
      else abort = cb;
    };
    const fail = (err: Error) => {
      if (aborted) return;
      aborted = err;
      abort?.(err);
    };
    pending.add(fail);
    let queuedInPool = false;
    // At the deadline a caller still in its tenant's queue or in pg-pool's is out of luck (exhausted); one whose
    // connection is being opened is left to the client's own connect timeout (unavailable if it fires).
    const timer = setTimeout(() => {
      if (!queuedInPool || pgPool.waitingCount > 0) fail(exhausted());
    }, acquireTimeoutMs);
    let leave: () => void = () => undefined;
    let asked: Promise<pg.PoolClient> | undefined;
    try {
      if (context?.kind === 'tenant') {
        // A free place is taken synchronously: no await (no extra turn) on the common path.
        const entered = enterGate(context.tenant, { onAbort });
        leave = typeof entered === 'function' ? entered : await entered;
      }
      queuedInPool = true;
      asked = pgPool.connect();
      const answer = asked;
      const client = await new Promise<pg.PoolClient>((resolve, reject) => {
        onAbort(reject);
        answer.then(resolve, (err: unknown) => reject(closed ? new PoolClosedError(name) : unavailable(err)));
      });
      return { client, leave };
    } catch (err) {
      leave();
      // pg-pool cannot withdraw a queued request: hand its client back when it comes.
      if (aborted) asked?.then((c) => c.release(), () => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
      pending.delete(fail);
      acquireWait.observe((performance.now() - started) / 1000);
    }
  }

  async function runQuery<R extends pg.QueryResultRow>(client: pg.PoolClient, query: DbQuery | string, values?: readonly unknown[], scope?: ScopeSetting): Promise<pg.QueryResult<R>> {
    const q: DbQuery = typeof query === 'string' ? { text: query, ...(values ? { values } : {}) } : query;
    const statement = statementLabel(metrics, q.name, maxStatementNames);
    const started = performance.now();
    const context = currentDbContext();
    try {
      const config: pg.QueryConfig = { text: q.text };
      if (q.values) config.values = q.values as unknown[];
      if (q.prepare && q.name) config.name = q.name;
      if (scope) return await queryScoped<R>(client, config, scope);
      // A transaction begun in a context is scoped in the same round trip (simple protocol, one implicit batch).
      if (context && !q.values && !q.prepare && BEGIN.test(q.text)) {
        config.text = `${q.text}; ${contextSql(context)}`;
        const results = (await client.query(config)) as unknown as pg.QueryResult<R>[];
        return results[0]!;
      }
      return await client.query<R>(config);
    } catch (err) {
      const sqlstate = sqlStateOf(err);
      metrics.errors.inc({ pool: name, sqlstate: sqlstate ?? 'client' });
      if (sqlstate === '57014' && err instanceof Error && err.message.includes('statement timeout')) {
        throw new StatementTimeoutError(statement, err);
      }
      // Row-level security refusing a write (PostgreSQL reports the check's routine, not only 42501, which
      // also means a missing GRANT) with no context at all: the caller brought no tenant.
      if (sqlstate === '42501' && context === undefined && (err as { routine?: unknown }).routine === 'ExecWithCheckOptions') {
        throw new TenantRequiredError(statement, err);
      }
      throw err;
    } finally {
      const ms = performance.now() - started;
      durationOf(statement).observe(ms / 1000);
      tracking?.record(statement, q, ms);
    }
  }

  function track({ client, leave }: { client: pg.PoolClient; leave: () => void }): DbClient {
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
        leave();
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
    // In a context it runs in a transaction scoped to it (SET LOCAL semantics need one).
    async query(query, values) {
      const { client, leave } = await acquireRaw();
      let broken: Error | undefined;
      try {
        const context = currentDbContext();
        if (!context) return await runQuery(client, query, values);
        // A statement pg sends in the extended protocol (values or a prepared name): set_config and the
        // statement in one batch with one Sync, one implicit transaction (SET LOCAL semantics, scoped-query.ts).
        if (usesExtendedProtocol(query, values)) return await runQuery(client, query, values, scopeSetting(context));
        // A simple-protocol text (it may hold several statements) keeps an explicit transaction.
        // Sent together (pipelined): if BEGIN failed the statement runs unscoped and sees no tenant rows
        // (fail closed); if the statement fails, COMMIT ends the aborted transaction as a ROLLBACK.
        const [begun, result, committed] = await Promise.allSettled([
          runQuery(client, { name: 'tx.begin', text: 'BEGIN' }),
          runQuery(client, query, values),
          runQuery(client, { name: 'tx.commit', text: 'COMMIT' }),
        ]);
        if (begun.status === 'rejected' || committed.status === 'rejected') {
          broken = new Error('scoped statement left the session in an unknown state');
          client.query('ROLLBACK').catch(() => undefined);
        }
        if (result.status === 'rejected') throw result.reason;
        if (begun.status === 'rejected') throw begun.reason;
        if (committed.status === 'rejected') throw committed.reason;
        return result.value as never;
      } finally {
        client.release(broken);
        leave();
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
    stats: () => ({ total: pgPool.totalCount, idle: pgPool.idleCount, waiting: pgPool.waitingCount, size, min, max, tenantWaiting }),
    resize,
    close() {
      if (!closing) {
        closed = true;
        for (const fail of [...pending]) fail(new PoolClosedError(name));
        clearInterval(autoscaleTimer);
        metrics.pools.delete(gaugeSource);
        closing = pgPool.end();
      }
      return closing;
    },
  };
  tracking?.setExplainer(explainerFor(pool));
  internals.set(pool, { name, log, metrics });
  return pool;
}
