/**
 * A histogram for hot paths: it keeps its own counts and prom-client's
 * Registry formats it like its own Histogram (cumulative `_bucket`, `_sum`,
 * `_count`, the registry's default labels added).
 *
 * prom-client's `Histogram.observe` hashes and validates the labels on every
 * call, even through a `labels()` child: ~4k instructions under callgrind.
 * Here a caller asks once for the series of a label set and keeps it; an
 * observation is then a scan of the bucket bounds and three additions.
 *
 * Register it with `registry.registerMetric(histogram.metric)`. `reset()`
 * (called by `registry.resetMetrics()`) zeroes the counts and keeps the
 * series, so series held by callers stay valid.
 */
import type { Metric } from 'prom-client';

export type Labels = Record<string, string | number>;

/** One label set's counts. Get it from `BucketHistogram.series` and keep it. */
export interface HistogramSeries {
  readonly labels: Labels;
  /** Non-cumulative count per bucket; the last slot counts values above every bound (+Inf). */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Labels;
  sharedLabels?: Labels;
  value: number;
  metricName: string;
}

interface MetricData {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: MetricValue[];
}

export class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly #bounds: Float64Array;
  readonly #leLabels: Labels[];
  readonly #all: HistogramSeries[] = [];

  /** `buckets`: upper bounds, strictly increasing (as prom-client's `buckets`). */
  constructor(name: string, help: string, buckets: readonly number[]) {
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`histogram ${name}: buckets must increase (${buckets.join(', ')})`);
    }
    this.name = name;
    this.help = help;
    this.#bounds = Float64Array.from(buckets);
    this.#leLabels = buckets.map((le) => ({ le }));
  }

  /** The registry's view of this histogram: pass it to `registry.registerMetric`. */
  get metric(): Metric {
    return this as unknown as Metric;
  }

  /** A new series for `labels` (exposed from now on, with zero counts until observed). */
  series(labels: Labels): HistogramSeries {
    const series: HistogramSeries = { labels, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
    this.#all.push(series);
    return series;
  }

  observe(series: HistogramSeries, value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  /** The shape prom-client's Registry formats for text exposition (labels shared per series). */
  getForPromString(): MetricData {
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
  async get(): Promise<MetricData> {
    const data = this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...labels, ...sharedLabels }, value, metricName }));
    return data;
  }

  reset(): void {
    for (const series of this.#all) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
