/**
 * Prometheus metrics on a registry owned by one service (several services can
 * live in one process, e.g. in tests). The RED histogram is observed on every
 * request, so it keeps its own counts: one series object per (route, method,
 * status) found through nested Maps without building a key, bucket counts in a
 * Float64Array. prom-client still owns the registry and the exposition: the
 * histogram is registered as a metric whose `get()` returns what a prom-client
 * Histogram would (cumulative `_bucket`, `_sum`, `_count`).
 */
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';

export { Registry };

/** OpenTelemetry's recommended boundaries for http.server.request.duration, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

export const REQUEST_DURATION_METRIC = 'http_server_request_duration_seconds';

export interface HttpMetrics {
  registry: Registry;
  observe(method: string, route: string, status: number, seconds: number): void;
}

type Labels = Record<string, string | number>;

interface Series {
  labels: Labels;
  /** Non-cumulative count per bucket; the last slot counts values above every bound (+Inf). */
  counts: Float64Array;
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Labels;
  sharedLabels?: Labels;
  value: number;
  metricName: string;
}

/** A fixed-label histogram that prom-client's Registry formats like its own Histogram. */
class RequestDurationHistogram {
  readonly name = REQUEST_DURATION_METRIC;
  readonly help = 'Duration of HTTP server requests, by method, route template and status code.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds = Float64Array.from(DURATION_BUCKETS);
  readonly #leLabels = DURATION_BUCKETS.map((le) => ({ le }) as Labels);
  #byRoute = new Map<string, Map<string, Map<number, Series>>>();
  #all: Series[] = [];

  observe(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.#byRoute.get(route);
    if (!byMethod) this.#byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) {
      series = { labels: { method, route, status_code: String(status) }, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      byStatus.set(status, series);
      this.#all.push(series);
    }
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += seconds;
    series.count++;
  }

  /** The shape prom-client's Registry formats for text exposition (labels shared per series). */
  getForPromString(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.#all) {
      let cumulative = 0;
      for (let i = 0; i < this.#leLabels.length; i++) {
        cumulative += series.counts[i]!;
        values.push({ labels: this.#leLabels[i]!, sharedLabels: series.labels, value: cumulative, metricName: bucketName });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: bucketName });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The JSON shape (getMetricsAsJSON, cluster aggregation): labels merged per value. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const data = this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...labels, ...sharedLabels }, value, metricName }));
    return data;
  }

  reset(): void {
    this.#byRoute = new Map();
    this.#all = [];
  }
}

export function createHttpMetrics(name: string, defaultMetrics = true): HttpMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: name });
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  const histogram = new RequestDurationHistogram();
  registry.registerMetric(histogram as unknown as Metric);
  return {
    registry,
    observe: (method, route, status, seconds) => histogram.observe(method, route, status, seconds),
  };
}
