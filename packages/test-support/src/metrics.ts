/** Reading Prometheus metrics in tests: from a registry in the same process, or scraped from a service's /metrics. */
import type { Registry } from 'prom-client';

/**
 * Sum of the samples of `name` in `registry` whose labels include `labels` (0 when the metric does
 * not exist); for a histogram pass `series` (e.g. `<name>_count`).
 */
export async function registryValue(registry: Registry, name: string, labels: Record<string, string> = {}, series?: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => series === undefined || (v as { metricName?: string }).metricName === series)
    .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

/** The first sample of `name` on `${url}/metrics` whose line contains `labels` (e.g. `queue="x"`), 0 when none. */
export async function scrapeValue(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
