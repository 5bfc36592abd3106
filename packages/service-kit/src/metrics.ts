/**
 * Prometheus metrics on a registry owned by one service (several services can
 * live in one process, e.g. in tests). The RED histogram is observed on every
 * request, so it keeps its own counts (histogram.ts): one series object per
 * (route, method, status) found through nested Maps without building a key.
 * prom-client still owns the registry and the exposition.
 */
import {
  collectDefaultMetrics,
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from 'prom-client';
import { BucketHistogram, type HistogramSeries } from './histogram.ts';

export { Registry };

/**
 * Get-or-create on one registry: several owners in one process (two queues, two
 * leader electors in a test) share the series and differ by label instead of
 * failing on a duplicate registration.
 */
export function ensureCounter<L extends string>(registry: Registry, config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
  return (registry.getSingleMetric(config.name) as Counter<L> | undefined) ?? new Counter({ ...config, registers: [registry] });
}

/** Get-or-create, as {@link ensureCounter}. */
export function ensureGauge<L extends string>(registry: Registry, config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
  return (registry.getSingleMetric(config.name) as Gauge<L> | undefined) ?? new Gauge({ ...config, registers: [registry] });
}

/** Get-or-create, as {@link ensureCounter}. */
export function ensureHistogram<L extends string>(registry: Registry, config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
  return (registry.getSingleMetric(config.name) as Histogram<L> | undefined) ?? new Histogram({ ...config, registers: [registry] });
}

/** Get-or-create of a {@link BucketHistogram} (the hot-path histogram), as {@link ensureCounter}. */
export function ensureBucketHistogram(registry: Registry, name: string, help: string, buckets: readonly number[]): BucketHistogram {
  const found = registry.getSingleMetric(name);
  if (found) return found as unknown as BucketHistogram;
  const histogram = new BucketHistogram(name, help, buckets);
  registry.registerMetric(histogram.metric);
  return histogram;
}

/** OpenTelemetry's recommended boundaries for http.server.request.duration, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

export const REQUEST_DURATION_METRIC = 'http_server_request_duration_seconds';

export interface HttpMetrics {
  registry: Registry;
  observe(method: string, route: string, status: number, seconds: number): void;
}

/** The RED histogram: a series per (route, method, status), found through nested Maps without building a key. */
class RequestDurationHistogram extends BucketHistogram {
  readonly #byRoute = new Map<string, Map<string, Map<number, HistogramSeries>>>();

  constructor() {
    super(REQUEST_DURATION_METRIC, 'Duration of HTTP server requests, by method, route template and status code.', DURATION_BUCKETS);
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.#byRoute.get(route);
    if (!byMethod) this.#byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) byStatus.set(status, (series = this.series({ method, route, status_code: String(status) })));
    this.observe(series, seconds);
  }
}

export function createHttpMetrics(name: string, defaultMetrics = true): HttpMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: name });
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  const histogram = new RequestDurationHistogram();
  registry.registerMetric(histogram.metric);
  return {
    registry,
    observe: (method, route, status, seconds) => histogram.observeRequest(method, route, status, seconds),
  };
}
