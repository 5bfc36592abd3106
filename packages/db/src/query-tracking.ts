/**
 * Query tracking per unit of work (an HTTP request or a job): how many
 * statements it sent, their total time and their shapes (sql-shape.ts). The
 * work rides in the kit's request context (the OpenTelemetry context, kept in
 * AsyncLocalStorage by service-kit's context manager) under its own key, so it
 * follows the request through awaits and child spans without a second store.
 *
 * Every pool records into the work of the running code (pool.ts calls
 * `PoolTracking.record` once per statement) and reports:
 *  - N+1: a shape that reaches `nPlusOneThreshold` runs in one work is logged
 *    once (shape and statement name, never values) and counted
 *    (`db_n_plus_one_total`); listeners (the tests' guard) hear of it at
 *    their own threshold;
 *  - slow statements (`slowQueryMs`): counted, and a sample of them, rate
 *    limited, logged with their `EXPLAIN (ANALYZE, BUFFERS)` plan (explain.ts);
 *  - at the end of the work: statements and time per work
 *    (`db_work_statements`, `db_work_query_seconds`).
 */
import { context, createContextKey } from '@opentelemetry/api';
import { ensureCounter, ensureHistogram } from '@bulwark/service-kit/metrics';
import type { Logger } from '@bulwark/service-kit/logging';
import { ensureContextManager } from '@bulwark/service-kit/tracing';
import type { Counter, Histogram, Registry } from 'prom-client';
import { sqlStateOf } from './errors.ts';
import { createShapeCache } from './sql-shape.ts';

const WORK_KEY = createContextKey('bulwark.db.query-work');

export type WorkKind = 'request' | 'job';

/** One shape's runs within a work. */
export interface ShapeStats {
  pool: string;
  /** The statement name (metrics label) of its first run. */
  statement: string;
  shape: string;
  count: number;
  totalMs: number;
}

/** A shape that ran `count` times in one work. */
export interface NPlusOneReport extends ShapeStats {
  work: string;
  kind: WorkKind;
}

export interface QueryTrackingOptions {
  /** Runs of one shape in one work that count as N+1; 0 turns detection off. Default 10. */
  nPlusOneThreshold?: number;
  /** Statements at least this slow are counted and may be explained; 0 turns it off. Default 500 ms. */
  slowQueryMs?: number;
  /** Share of slow statements that are explained. Default 0.1. */
  explainSampleRate?: number;
  /** Explains per pool per minute at most (each shape at most once a minute). Default 6. */
  explainPerMinute?: number;
}

/** Statements that are transaction control (by name or by text), not queries: counted, never an N+1. */
const CONTROL_NAME = /^tx\.|^db\.check$/;
const CONTROL_TEXT = /^\s*(?:BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;
const isControl = (statement: string, text: string): boolean => CONTROL_NAME.test(statement) || CONTROL_TEXT.test(text);

/** The statement name of the plans taken for slow statements; not tracked (it is no caller's). */
export const EXPLAIN_STATEMENT = 'db.explain';

/** The queries of one request or job. */
export class QueryWork {
  readonly kind: WorkKind;
  #label: string | (() => string);
  statements = 0;
  totalMs = 0;
  /** Shapes by pool, then by shape. */
  readonly byPool = new Map<PoolTracking, Map<string, ShapeStats>>();
  #finished = false;

  constructor(kind: WorkKind, label: string | (() => string)) {
    this.kind = kind;
    this.#label = label;
  }

  /** What the work is: a route (`GET /v1/orders/:id`) or a job name. */
  get label(): string {
    if (typeof this.#label === 'function') this.#label = this.#label();
    return this.#label;
  }

  /** Adds one statement; returns its shape's runs so far. */
  record(pool: PoolTracking, statement: string, shape: string, ms: number): ShapeStats {
    this.statements++;
    this.totalMs += ms;
    let shapes = this.byPool.get(pool);
    if (!shapes) this.byPool.set(pool, (shapes = new Map()));
    let stats = shapes.get(shape);
    if (!stats) shapes.set(shape, (stats = { pool: pool.name, statement, shape, count: 0, totalMs: 0 }));
    stats.count++;
    stats.totalMs += ms;
    return stats;
  }

  /** Reports the work's totals to each pool it used; later statements are no longer counted. Idempotent. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const [pool, shapes] of this.byPool) pool.finish(this.kind, shapes);
  }

  /** Every shape of the work, all pools. */
  get shapes(): ShapeStats[] {
    return [...this.byPool.values()].flatMap((m) => [...m.values()]);
  }

  get finished(): boolean {
    return this.#finished;
  }
}

/** The work of the running code, if any. */
export function currentQueryWork(): QueryWork | undefined {
  return context.active().getValue(WORK_KEY) as QueryWork | undefined;
}

/** Runs `fn` with `work` as the current work (it is not finished here). */
export function withQueryWork<T>(work: QueryWork | undefined, fn: () => T): T {
  const active = context.active();
  return context.with(work ? active.setValue(WORK_KEY, work) : active.deleteValue(WORK_KEY), fn);
}

/**
 * Tracks the statements `fn` sends as one job named `name` (a bounded name:
 * the job's kind, not its id) and finishes it when `fn` settles. Outside a
 * service (a script, a test) it registers the kit's context manager itself.
 */
export async function trackQueries<T>(name: string, fn: () => Promise<T>): Promise<T> {
  ensureContextManager();
  const work = new QueryWork('job', name);
  try {
    return await withQueryWork(work, fn);
  } finally {
    work.finish();
  }
}

interface RequestLike {
  method?: string;
  baseUrl?: string;
  route?: { path?: unknown };
  res?: { once(event: 'close', listener: () => void): unknown };
}

const requestWork = new WeakMap<object, QueryWork>();

/** The route template of a request; `baseUrl` is read while a step runs (the router resets it on the way out). */
function routeOf(req: RequestLike, baseUrl: string): string {
  const path = typeof req.route?.path === 'string' ? `${baseUrl}${req.route.path}` : 'unmatched';
  return `${req.method ?? 'GET'} ${path}`;
}

/**
 * A service-kit `requestScope`: every step of a request (its middleware and
 * handler) runs in the request's one work, finished when the response closes.
 * `gatewayTenantScope` includes it.
 */
export function trackRequestQueries<T>(req: object, run: () => T): T {
  let work = requestWork.get(req);
  if (!work) {
    const r = req as RequestLike;
    const baseUrl = r.baseUrl ?? '';
    const created = new QueryWork('request', () => routeOf(r, baseUrl));
    requestWork.set(req, created);
    r.res?.once('close', () => created.finish());
    work = created;
  }
  return withQueryWork(work, run);
}

/** The service-kit `createService` options that track each request's queries (services without a tenant scope). */
export const queryTrackingScope = { requestScope: trackRequestQueries };

/** Hears of N+1s at its own threshold (the tests' guard); pools' own thresholds still apply to logs and metrics. */
export interface NPlusOneListener {
  threshold: number;
  onDetected(report: NPlusOneReport): void;
}

const listeners = new Set<NPlusOneListener>();

/** Adds a listener; returns how to remove it. */
export function listenForNPlusOne(listener: NPlusOneListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The metrics of query tracking, one set per registry. */
interface TrackingMetrics {
  nPlusOne: Counter<'pool' | 'statement'>;
  slow: Counter<'pool' | 'statement'>;
  explained: Counter<'pool' | 'outcome'>;
  workStatements: Histogram<'pool' | 'kind'>;
  workSeconds: Histogram<'pool' | 'kind'>;
}

function trackingMetrics(registry: Registry): TrackingMetrics {
  return {
    nPlusOne: ensureCounter(registry, { name: 'db_n_plus_one_total', help: 'Units of work (requests, jobs) in which one statement shape ran at least the N+1 threshold times, by the statement name of its first run.', labelNames: ['pool', 'statement'] }),
    slow: ensureCounter(registry, { name: 'db_slow_queries_total', help: 'Statements that took at least the slow-query threshold, by statement name.', labelNames: ['pool', 'statement'] }),
    explained: ensureCounter(registry, { name: 'db_slow_query_explains_total', help: 'Slow statements whose plan was logged (ok) or could not be taken (failed).', labelNames: ['pool', 'outcome'] }),
    workStatements: ensureHistogram(registry, { name: 'db_work_statements', help: 'Statements sent by one request or job, per pool.', labelNames: ['pool', 'kind'], buckets: [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144] }),
    workSeconds: ensureHistogram(registry, { name: 'db_work_query_seconds', help: 'Time one request or job spent in statements, per pool.', labelNames: ['pool', 'kind'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] }),
  };
}

/** A statement as the pool ran it, for the explain of a slow one. */
export interface TrackedStatement {
  text: string;
  values?: readonly unknown[] | undefined;
}

/** Takes the plan of a slow statement; never sees the caller's work (explain.ts). */
export type Explainer = (statement: TrackedStatement) => Promise<unknown>;

/** One pool's side of tracking (created by createPool). */
export class PoolTracking {
  readonly name: string;
  readonly #log: Logger;
  readonly #metrics: TrackingMetrics;
  readonly #threshold: number;
  readonly #slowMs: number;
  readonly #sampleRate: number;
  readonly #perMinute: number;
  readonly #shapeOf = createShapeCache();
  #explainer: Explainer | undefined;
  #windowStart = 0;
  #explainsInWindow = 0;
  readonly #explainedShapes = new Map<string, number>();
  /** Labelled children resolved once per kind: no label hashing per work. */
  readonly #workSeries: Partial<Record<WorkKind, { statements: Histogram.Internal<'pool' | 'kind'>; seconds: Histogram.Internal<'pool' | 'kind'> }>> = {};

  constructor(name: string, log: Logger, registry: Registry, options: QueryTrackingOptions = {}) {
    this.name = name;
    this.#log = log;
    this.#metrics = trackingMetrics(registry);
    this.#threshold = options.nPlusOneThreshold ?? 10;
    this.#slowMs = options.slowQueryMs ?? 500;
    this.#sampleRate = options.explainSampleRate ?? 0.1;
    this.#perMinute = options.explainPerMinute ?? 6;
  }

  /** How slow statements get their plan (set once the pool exists). */
  setExplainer(explainer: Explainer): void {
    this.#explainer = explainer;
  }

  /** Called by the pool after each statement. Cheap when no work is running and the statement was fast. */
  record(statement: string, query: TrackedStatement, ms: number): void {
    if (statement === EXPLAIN_STATEMENT) return;
    if (this.#slowMs > 0 && ms >= this.#slowMs) this.#slow(statement, query, ms);
    const work = currentQueryWork();
    if (work === undefined || work.finished) return;
    const stats = work.record(this, statement, this.#shapeOf(query.text), ms);
    if (stats.count === this.#threshold && !isControl(statement, query.text)) {
      this.#metrics.nPlusOne.inc({ pool: this.name, statement: stats.statement });
      this.#log.warn({ pool: this.name, statement: stats.statement, shape: stats.shape, count: stats.count, work: work.label, kind: work.kind }, 'N+1 queries: one statement shape ran repeatedly in one unit of work');
    }
    if (listeners.size > 0 && !isControl(statement, query.text)) {
      for (const listener of listeners) {
        if (stats.count === listener.threshold) listener.onDetected({ ...stats, work: work.label, kind: work.kind });
      }
    }
  }

  finish(kind: WorkKind, shapes: ReadonlyMap<string, ShapeStats>): void {
    let statements = 0;
    let ms = 0;
    for (const stats of shapes.values()) {
      statements += stats.count;
      ms += stats.totalMs;
    }
    const series = (this.#workSeries[kind] ??= {
      statements: this.#metrics.workStatements.labels({ pool: this.name, kind }),
      seconds: this.#metrics.workSeconds.labels({ pool: this.name, kind }),
    });
    series.statements.observe(statements);
    series.seconds.observe(ms / 1000);
  }

  #slow(statement: string, query: TrackedStatement, ms: number): void {
    this.#metrics.slow.inc({ pool: this.name, statement });
    if (!this.#explainer || Math.random() >= this.#sampleRate) return;
    const now = performance.now();
    if (now - this.#windowStart >= 60_000) {
      this.#windowStart = now;
      this.#explainsInWindow = 0;
      for (const [shape, at] of this.#explainedShapes) if (now - at >= 60_000) this.#explainedShapes.delete(shape);
    }
    const shape = this.#shapeOf(query.text);
    if (this.#explainsInWindow >= this.#perMinute || this.#explainedShapes.has(shape)) return;
    this.#explainsInWindow++;
    this.#explainedShapes.set(shape, now);
    const work = currentQueryWork();
    const explainer = this.#explainer;
    // Off the caller's path, outside its work (the explain is not the request's statement).
    withQueryWork(undefined, () =>
      explainer(query).then(
        (plan) => {
          this.#metrics.explained.inc({ pool: this.name, outcome: 'ok' });
          this.#log.warn({ pool: this.name, statement, shape, durationMs: Math.round(ms), work: work?.label, plan }, 'slow query');
        },
        (err: unknown) => {
          this.#metrics.explained.inc({ pool: this.name, outcome: 'failed' });
          // The SQLSTATE only: PostgreSQL's messages may quote the values.
          this.#log.warn({ pool: this.name, statement, shape, durationMs: Math.round(ms), work: work?.label, explainSqlState: sqlStateOf(err) ?? 'client' }, 'slow query (no plan)');
        },
      ),
    );
  }
}
