/**
 * HTTP client of one downstream service (inventory, payments) for the saga:
 * fetch with a per-call timeout, through an opossum circuit breaker that
 * counts only transient failures (timeouts, network errors, 5xx); a 4xx is a
 * business answer and passes through as a response. Every unsafe call carries
 * the saga's Idempotency-Key, so retrying after a timeout is safe, and the
 * tenant the saga runs for (`x-auth-tenant`, as the gateway forwards it).
 */
import CircuitBreaker from 'opossum';
import { Counter, type Registry } from 'prom-client';
import { currentDbContext, type DbLogger } from '@bulwark/db';

export interface ServiceResponse {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface BreakerSettings {
  errorThresholdPercentage: number;
  volumeThreshold: number;
  resetTimeoutMs: number;
  rollingWindowMs: number;
}

export interface ServiceClient {
  readonly name: string;
  /**
   * One call. Resolves with any status below 500; rejects (TransientCallError)
   * on timeout, network error, 5xx or an open circuit.
   */
  call(method: 'GET' | 'POST' | 'PUT', path: string, options?: { body?: unknown; idempotencyKey?: string; timeoutMs?: number }): Promise<ServiceResponse>;
  readonly breakerState: 'open' | 'half-open' | 'closed';
  close(): void;
}

/** Outcome unknown: retry with the same idempotency key. */
export class TransientCallError extends Error {
  readonly reason: string;
  constructor(reason: string, cause?: unknown) {
    super(reason, { cause });
    this.name = 'TransientCallError';
    this.reason = reason;
  }
}

const metricsByRegistry = new WeakMap<Registry, Counter<'service' | 'outcome'>>();

function callsCounter(registry: Registry): Counter<'service' | 'outcome'> {
  let c = metricsByRegistry.get(registry);
  if (!c) {
    c = new Counter({
      name: 'orders_saga_calls_total',
      help: 'Saga HTTP calls by downstream service and outcome: 2xx, 4xx, 5xx, timeout, network, circuit_open.',
      labelNames: ['service', 'outcome'],
      registers: [registry],
    });
    metricsByRegistry.set(registry, c);
  }
  return c;
}

/** `breakerEnabled: false` calls straight through (the checkout benchmark's baseline; never in a deployment). */
export function createServiceClient(options: { name: string; baseUrl: string; timeoutMs: number; breaker: BreakerSettings; breakerEnabled?: boolean; registry: Registry; log: DbLogger }): ServiceClient {
  const { name, log } = options;
  const base = options.baseUrl.replace(/\/$/, '');
  const calls = callsCounter(options.registry);
  const breaker = new CircuitBreaker((attempt: () => Promise<ServiceResponse>) => attempt(), {
    name,
    timeout: false, // each attempt carries its own AbortSignal timeout
    errorThresholdPercentage: options.breaker.errorThresholdPercentage,
    volumeThreshold: options.breaker.volumeThreshold,
    rollingCountTimeout: options.breaker.rollingWindowMs,
    rollingCountBuckets: 10,
    resetTimeout: options.breaker.resetTimeoutMs,
  });
  breaker.on('open', () => log.warn({ service: name }, 'saga circuit breaker open'));
  breaker.on('halfOpen', () => log.info({ service: name }, 'saga circuit breaker half-open'));
  breaker.on('close', () => log.info({ service: name }, 'saga circuit breaker closed'));

  return {
    name,
    get breakerState() {
      if (breaker.halfOpen) return 'half-open';
      return breaker.opened ? 'open' : 'closed';
    },
    async call(method, path, callOptions = {}) {
      // The saga acts for its order's tenant: inventory and payments scope their rows to it, as behind the gateway.
      const context = currentDbContext();
      const tenant = context?.kind === 'tenant' ? context.tenant : undefined;
      const attempt = async (): Promise<ServiceResponse> => {
        const headers: Record<string, string> = { accept: 'application/json' };
        if (callOptions.body !== undefined) headers['content-type'] = 'application/json';
        if (callOptions.idempotencyKey) headers['idempotency-key'] = callOptions.idempotencyKey;
        if (tenant !== undefined) headers['x-auth-tenant'] = tenant;
        let res: Response;
        try {
          res = await fetch(`${base}${path}`, {
            method,
            headers,
            body: callOptions.body === undefined ? undefined : JSON.stringify(callOptions.body),
            signal: AbortSignal.timeout(callOptions.timeoutMs ?? options.timeoutMs),
          });
        } catch (err) {
          const errName = (err as { name?: unknown } | null)?.name; // a DOMException; not instanceof this realm's Error under test VMs
          const timeout = errName === 'TimeoutError' || errName === 'AbortError';
          calls.inc({ service: name, outcome: timeout ? 'timeout' : 'network' });
          throw new TransientCallError(timeout ? `${name} timeout` : `${name} unreachable`, err);
        }
        let text: string;
        try {
          text = await res.text();
        } catch (err) {
          calls.inc({ service: name, outcome: 'timeout' });
          throw new TransientCallError(`${name} response cut`, err);
        }
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
        if (res.status >= 500) {
          calls.inc({ service: name, outcome: '5xx' });
          throw new TransientCallError(`${name} answered ${res.status}`);
        }
        calls.inc({ service: name, outcome: res.status >= 400 ? '4xx' : '2xx' });
        return { status: res.status, body };
      };
      try {
        return options.breakerEnabled === false ? await attempt() : await breaker.fire(attempt);
      } catch (err) {
        if (err instanceof TransientCallError) throw err;
        if ((err as { code?: unknown }).code === 'EOPENBREAKER') {
          calls.inc({ service: name, outcome: 'circuit_open' });
          throw new TransientCallError(`${name} circuit open`, err);
        }
        throw new TransientCallError(`${name} call failed`, err);
      }
    },
    close() {
      breaker.shutdown();
    },
  };
}
