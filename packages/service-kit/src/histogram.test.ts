import { describe, expect, it } from '@jest/globals';
import { Histogram, Registry } from 'prom-client';
import { BucketHistogram } from './histogram.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const VALUES = [0, 0.0005, 0.001, 0.002, 0.01, 0.05, 0.5, 1, 2.5, 30];

function registries(): { ours: Registry; theirs: Registry; bucket: BucketHistogram; histogram: Histogram<'result'> } {
  const ours = new Registry();
  const theirs = new Registry();
  for (const r of [ours, theirs]) r.setDefaultLabels({ service: 'svc' });
  const bucket = new BucketHistogram('x_seconds', 'help text', BUCKETS);
  ours.registerMetric(bucket.metric);
  const histogram = new Histogram({ name: 'x_seconds', help: 'help text', labelNames: ['result'] as const, buckets: BUCKETS, registers: [theirs] });
  return { ours, theirs, bucket, histogram };
}

describe('BucketHistogram', () => {
  it('when the same values are observed, then the exposition text equals prom-client Histogram', async () => {
    const { ours, theirs, bucket, histogram } = registries();
    const ok = bucket.series({ result: 'ok' });
    const error = bucket.series({ result: 'error' });
    for (const v of VALUES) {
      bucket.observe(ok, v);
      histogram.observe({ result: 'ok' }, v);
    }
    bucket.observe(error, 0.2);
    histogram.observe({ result: 'error' }, 0.2);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // prom-client adds `exemplar: null` to each value of its own histogram.
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>): unknown =>
      metrics.map((m) => ({ ...m, values: m.values.map((v) => ({ ...v, exemplar: undefined })) }));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it('when a value equals a bound, then it counts in that bucket (le is inclusive)', async () => {
    const { ours, bucket } = registries();
    const s = bucket.series({ result: 'ok' });
    bucket.observe(s, 0.01);
    const text = await ours.metrics();
    expect(text).toContain('x_seconds_bucket{le="0.001",service="svc",result="ok"} 0');
    expect(text).toContain('x_seconds_bucket{le="0.01",service="svc",result="ok"} 1');
  });

  it('when the registry is reset, then counts are zero and a kept series still records', async () => {
    const { ours, bucket } = registries();
    const s = bucket.series({ result: 'ok' });
    bucket.observe(s, 0.5);
    ours.resetMetrics();
    expect(await ours.metrics()).toContain('x_seconds_count{service="svc",result="ok"} 0');
    bucket.observe(s, 0.5);
    expect(await ours.metrics()).toContain('x_seconds_count{service="svc",result="ok"} 1');
    expect(await ours.metrics()).toContain('x_seconds_sum{service="svc",result="ok"} 0.5');
  });

  it('when the buckets do not increase, then construction fails with the name', () => {
    expect(() => new BucketHistogram('bad_seconds', 'h', [0.1, 0.1])).toThrow(/bad_seconds: buckets must increase/);
  });
});
