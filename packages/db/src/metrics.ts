/**
 * Prometheus metrics of every pool sharing one registry. Metrics are created
 * once per registry and labelled by pool name, so several pools (a primary and
 * a replica, say) can report through the same registry. Gauges are read from
 * the live pools at scrape time rather than updated on every event.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What a pool exposes to the scrape-time gauges. */
export interface PoolGaugeSource {
  name: string;
  total(): number;
  idle(): number;
  waiting(): number;
  size(): number;
  tenantWaiting(): number;
}

export interface DbMetrics {
  acquireWait: Histogram<'pool'>;
  queryDuration: Histogram<'pool' | 'statement'>;
  errors: Counter<'pool' | 'sqlstate'>;
  leaks: Counter<'pool'>;
  exhausted: Counter<'pool'>;
  resizes: Counter<'pool' | 'direction'>;
  txRetries: Counter<'pool' | 'sqlstate'>;
  systemContexts: Counter<'pool' | 'reason'>;
  tenantQueued: Counter<'pool'>;
  /** Live pools, read by the gauges at scrape time. */
  pools: Set<PoolGaugeSource>;
  /** Statement names seen so far, to bound the statement label. */
  statements: Set<string>;
}

const bundles = new WeakMap<Registry, DbMetrics>();

const STATEMENT_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
export const UNNAMED_STATEMENT = 'unnamed';
export const OVERFLOW_STATEMENT = 'other';

function gauge(registry: Registry, pools: Set<PoolGaugeSource>, name: string, help: string, read: (p: PoolGaugeSource) => number): void {
  new Gauge({
    name,
    help,
    labelNames: ['pool'],
    registers: [registry],
    collect() {
      this.reset();
      for (const pool of pools) this.set({ pool: pool.name }, read(pool));
    },
  });
}

export function metricsFor(registry: Registry): DbMetrics {
  const existing = bundles.get(registry);
  if (existing) return existing;
  const pools = new Set<PoolGaugeSource>();
  const registers = [registry];
  gauge(registry, pools, 'db_pool_clients', 'Open connections in the pool.', (p) => p.total());
  gauge(registry, pools, 'db_pool_clients_idle', 'Open connections not checked out.', (p) => p.idle());
  gauge(registry, pools, 'db_pool_waiting', 'Callers queued for a connection.', (p) => p.waiting());
  gauge(registry, pools, 'db_pool_tenant_waiting', 'Callers queued behind their own tenant\'s concurrency limit (not yet asking the pool).', (p) => p.tenantWaiting());
  gauge(registry, pools, 'db_pool_size', 'Current connection cap (moves between min and max when autoscaling).', (p) => p.size());
  const bundle: DbMetrics = {
    pools,
    statements: new Set(),
    acquireWait: new Histogram({
      name: 'db_pool_acquire_wait_seconds',
      help: 'Time from asking the pool for a connection to getting one (or giving up).',
      labelNames: ['pool'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    queryDuration: new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Query duration by statement name.',
      labelNames: ['pool', 'statement'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    errors: new Counter({ name: 'db_query_errors_total', help: 'Failed queries and connections by SQLSTATE ("client" when the error carries none).', labelNames: ['pool', 'sqlstate'], registers }),
    leaks: new Counter({ name: 'db_pool_leaks_total', help: 'Connections held past the leak threshold.', labelNames: ['pool'], registers }),
    exhausted: new Counter({ name: 'db_pool_exhausted_total', help: 'Acquires that timed out because the pool stayed full.', labelNames: ['pool'], registers }),
    resizes: new Counter({ name: 'db_pool_resizes_total', help: 'Autoscaler size changes.', labelNames: ['pool', 'direction'], registers }),
    txRetries: new Counter({ name: 'db_tx_retries_total', help: 'Transactions retried after a serialization failure or deadlock.', labelNames: ['pool', 'sqlstate'], registers }),
    systemContexts: new Counter({ name: 'db_system_context_total', help: 'Entries into the audited system context (work across every tenant) by reason.', labelNames: ['pool', 'reason'], registers }),
    tenantQueued: new Counter({ name: 'db_pool_tenant_queued_total', help: 'Acquires that waited because their tenant already held its share of connections.', labelNames: ['pool'], registers }),
  };
  bundles.set(registry, bundle);
  return bundle;
}

/**
 * The label for a statement name: bounded to `limit` distinct names per
 * registry (later names become "other") so a caller building names from data
 * cannot blow up the series count.
 */
export function statementLabel(metrics: DbMetrics, name: string | undefined, limit: number): string {
  if (name === undefined || name === '') return UNNAMED_STATEMENT;
  if (!STATEMENT_NAME.test(name)) return OVERFLOW_STATEMENT;
  if (metrics.statements.has(name)) return name;
  if (metrics.statements.size >= limit) return OVERFLOW_STATEMENT;
  metrics.statements.add(name);
  return name;
}
