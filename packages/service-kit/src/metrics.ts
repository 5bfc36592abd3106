/**
 * Prometheus metrics on a registry owned by one service (several services can
 * live in one process, e.g. in tests). RED histogram labelled by method, route
 * template and status; label children are cached so an observation costs a Map
 * lookup instead of prom-client's label hashing.
 */
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export { Registry };

/** OpenTelemetry's recommended boundaries for http.server.request.duration, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

export interface HttpMetrics {
  registry: Registry;
  observe(method: string, route: string, status: number, seconds: number): void;
}

export function createHttpMetrics(name: string, defaultMetrics = true): HttpMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: name });
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  const histogram = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP server requests, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const children = new Map<string, { observe(value: number): void }>();
  return {
    registry,
    observe(method, route, status, seconds) {
      const key = `${method} ${status} ${route}`;
      let child = children.get(key);
      if (!child) {
        child = histogram.labels(method, route, String(status));
        children.set(key, child);
      }
      child.observe(seconds);
    },
  };
}
