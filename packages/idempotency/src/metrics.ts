/**
 * The middleware's one metric, got-or-created on the caller's registry
 * through the service kit (several scopes in one process share the series
 * and differ by the `scope` label).
 */
import { ensureCounter } from '@bulwark/service-kit/metrics';
import type { Counter, Registry } from 'prom-client';

/** Unsafe requests seen by the middleware, by scope and outcome (what it did with the request). */
export function requestsCounter(registry: Registry): Counter<'scope' | 'outcome'> {
  return ensureCounter(registry, {
    name: 'idempotency_requests_total',
    help: 'Unsafe requests seen by the Idempotency-Key middleware, by outcome.',
    labelNames: ['scope', 'outcome'],
  });
}
