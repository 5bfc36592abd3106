/**
 * The saga's client of one downstream service (inventory, payments): the
 * shared service client (@bulwark/service-kit/service-client: fetch with a
 * per-call timeout, opossum breaker counting only transient failures, a 4xx
 * is a business answer) with what the saga adds: orders' client-credentials
 * token from identity on every call (the callees' internal routes refuse a
 * call without it), the tenant the saga runs for in `x-auth-tenant` (honoured
 * by the callee only alongside that token), and orders_saga_calls_total.
 * Every unsafe call carries the saga's Idempotency-Key, so retrying after a
 * timeout is safe.
 */
import { Counter, type Registry } from 'prom-client';
import { currentDbContext } from '@bulwark/db';
import type { TokenProvider } from '@bulwark/service-kit/service-auth';
import { createServiceClient, TransientCallError, type BreakerSettings, type ServiceClientLog, type ServiceResponse as Answer } from '@bulwark/service-kit/service-client';

export { TransientCallError, type BreakerSettings };

export type ServiceResponse = Answer<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ServiceClient {
  readonly name: string;
  /**
   * One call. Resolves with any status below 500; rejects (TransientCallError)
   * on timeout, network error, 5xx, an open circuit or no usable token.
   */
  call(method: 'GET' | 'POST' | 'PUT', path: string, options?: { body?: unknown; idempotencyKey?: string; timeoutMs?: number }): Promise<ServiceResponse>;
  readonly breakerState: 'open' | 'half-open' | 'closed';
  close(): void;
}

const metricsByRegistry = new WeakMap<Registry, Counter<'service' | 'outcome'>>();

function callsCounter(registry: Registry): Counter<'service' | 'outcome'> {
  let c = metricsByRegistry.get(registry);
  if (!c) {
    c = new Counter({
      name: 'orders_saga_calls_total',
      help: 'Saga HTTP calls by downstream service and outcome: 2xx, 4xx, 5xx, timeout, network, circuit_open, unauthorized (our token refused twice), token (none could be had).',
      labelNames: ['service', 'outcome'],
      registers: [registry],
    });
    metricsByRegistry.set(registry, c);
  }
  return c;
}

/** `breakerEnabled: false` calls straight through (the checkout benchmark's baseline; never in a deployment). */
export function createSagaClient(options: { name: string; baseUrl: string; timeoutMs: number; breaker: BreakerSettings; breakerEnabled?: boolean; tokens: TokenProvider; registry: Registry; log: ServiceClientLog }): ServiceClient {
  const { name } = options;
  const calls = callsCounter(options.registry);
  const client = createServiceClient({ ...options, onOutcome: (outcome) => calls.inc({ service: name, outcome }) });
  return {
    name,
    get breakerState() {
      return client.breakerState;
    },
    call(method, path, callOptions = {}) {
      // The saga acts for its order's tenant: inventory and payments scope their rows to it, as behind the gateway.
      const context = currentDbContext();
      const tenant = context?.kind === 'tenant' ? context.tenant : undefined;
      return client.call({ method, path, ...callOptions, headers: tenant === undefined ? {} : { 'x-auth-tenant': tenant } });
    },
    close() {
      client.close();
    },
  };
}
