/**
 * A route joined with what it needs at request time: its upstream, effective
 * timeout, retry policy, body limit and lifecycle headers, computed once.
 */
import type { CompiledRoute } from '../domain/route-table.ts';
import type { RetryConfig } from '../domain/routes-file.ts';
import { lifecycleOf, type Lifecycle } from '../domain/versioning.ts';
import { DeadlineQueue } from '../upstreams/deadline-queue.ts';
import type { Upstream } from '../upstreams/upstream.ts';

export interface RouteRuntime {
  route: CompiledRoute;
  upstream: Upstream;
  timeoutMs: number;
  /** Deadlines of the route's attempts: one timer for all of them. */
  deadlines: DeadlineQueue;
  retry: RetryConfig;
  maxBodyBytes: number;
  lifecycle: Lifecycle;
  /** `lifecycle.headers` as a flat `[name, value, …]` list (lower-case names), on every response of the route. */
  lifecycleHeaders: readonly string[];
  /** Route label of the kit's RED metrics and span: `proxy:<id>`. */
  label: string;
}

export function routeRuntime(route: CompiledRoute, upstream: Upstream, defaultMaxBodyBytes: number): RouteRuntime {
  const c = route.config;
  const lifecycle = lifecycleOf(c);
  const timeoutMs = c.timeoutMs ?? upstream.config.timeoutMs;
  return {
    route,
    upstream,
    timeoutMs,
    deadlines: new DeadlineQueue(timeoutMs),
    retry: { ...upstream.config.retry, ...(c.retry ?? {}) } as RetryConfig,
    maxBodyBytes: c.maxBodyBytes ?? defaultMaxBodyBytes,
    lifecycle,
    lifecycleHeaders: Object.entries(lifecycle.headers).flatMap(([name, value]) => [name.toLowerCase(), value]),
    label: `proxy:${route.id}`,
  };
}
