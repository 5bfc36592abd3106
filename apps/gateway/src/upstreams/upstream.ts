/**
 * One upstream: a keep-alive undici Pool, an opossum circuit breaker, a
 * bulkhead and a retry budget, plus their metrics. `send` runs one attempt
 * through the breaker; the attempt rejects with UpstreamStatusError for a 5xx
 * answer, so 5xx answers and network errors count as breaker failures (the
 * caller has relayed or dropped the 5xx response itself).
 */
import CircuitBreaker from 'opossum';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Pool } from 'undici';
import type { Logger } from '@bulwark/service-kit';
import { Bulkhead, RetryBudget } from '../domain/resilience.ts';
import type { UpstreamConfig } from '../domain/routes-file.ts';

/** A 5xx answer: a failure for the breaker, still a response for the client. */
export class UpstreamStatusError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`upstream answered ${status}`);
    this.name = 'UpstreamStatusError';
    this.status = status;
  }
}

export type BreakerState = 'closed' | 'open' | 'half-open';
const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export interface GatewayMetrics {
  upstreamRequests: Counter<'upstream' | 'outcome'>;
  retries: Counter<'upstream' | 'reason'>;
  breakerState: Gauge<'upstream'>;
  breakerTransitions: Counter<'upstream' | 'to'>;
  bulkheadInFlight: Gauge<'upstream'>;
}

export function createGatewayMetrics(registry: Registry, upstreams: () => Iterable<Upstream>): GatewayMetrics {
  return {
    upstreamRequests: new Counter({
      name: 'gateway_upstream_requests_total',
      help: 'Upstream calls by outcome: response (any status), timeout, error (network), circuit_open, bulkhead_full.',
      labelNames: ['upstream', 'outcome'] as const,
      registers: [registry],
      collect() {
        // Responses are tallied per upstream on the hot path (no label hashing per request) and handed over here.
        for (const u of upstreams()) {
          const n = u.takeResponses();
          if (n > 0) this.inc({ upstream: u.name, outcome: 'response' }, n);
        }
      },
    }),
    retries: new Counter({ name: 'gateway_upstream_retries_total', help: 'Retries sent, and retries refused by the budget (reason=budget_exhausted).', labelNames: ['upstream', 'reason'] as const, registers: [registry] }),
    breakerState: new Gauge({
      name: 'gateway_breaker_state',
      help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.',
      labelNames: ['upstream'] as const,
      registers: [registry],
      collect() {
        for (const u of upstreams()) this.set({ upstream: u.name }, STATE_VALUE[u.breakerState]);
      },
    }),
    breakerTransitions: new Counter({ name: 'gateway_breaker_transitions_total', help: 'Circuit breaker state transitions per upstream.', labelNames: ['upstream', 'to'] as const, registers: [registry] }),
    bulkheadInFlight: new Gauge({
      name: 'gateway_bulkhead_in_flight',
      help: 'Requests in flight per upstream (bulkhead usage).',
      labelNames: ['upstream'] as const,
      registers: [registry],
      collect() {
        for (const u of upstreams()) this.set({ upstream: u.name }, u.bulkhead.inFlight);
      },
    }),
  };
}

export class Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly origin: string;
  readonly basePath: string;
  readonly pool: Pool;
  readonly bulkhead: Bulkhead;
  readonly budget: RetryBudget;
  readonly breaker: CircuitBreaker<[() => Promise<void>], void> | undefined;
  #responses = 0;

  constructor(name: string, config: UpstreamConfig, log: Logger, metrics: GatewayMetrics) {
    this.name = name;
    this.config = config;
    const url = new URL(config.url);
    this.origin = url.origin;
    this.basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
    this.pool = new Pool(this.origin, { connections: config.connections, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000 });
    this.bulkhead = new Bulkhead(config.bulkhead.maxConcurrent);
    this.budget = new RetryBudget(config.retry.budgetRatio, config.retry.budgetWindowSeconds, config.retry.minRetriesPerWindow);
    const b = config.breaker;
    if (b.enabled) {
      const breaker = new CircuitBreaker((attempt: () => Promise<void>) => attempt(), {
        name,
        timeout: false, // the gateway times attempts itself (per route), so opossum's timer is off
        // No latency percentiles and no periodic snapshots: opossum would keep
        // every call's latency in its window and sort them all on each
        // snapshot and on each failure; nothing here reads them.
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
        errorThresholdPercentage: b.errorThresholdPercentage,
        volumeThreshold: b.volumeThreshold,
        rollingCountTimeout: b.rollingWindowMs,
        rollingCountBuckets: 10,
        resetTimeout: b.resetTimeoutMs,
      });
      const transition = (to: BreakerState) => () => {
        metrics.breakerTransitions.inc({ upstream: name, to });
        const stats = breaker.stats;
        log[to === 'open' ? 'warn' : 'info']({ upstream: name, state: to, failures: stats.failures, fires: stats.fires, resetTimeoutMs: b.resetTimeoutMs }, `circuit breaker ${to}`);
      };
      breaker.on('open', transition('open'));
      breaker.on('halfOpen', transition('half-open'));
      breaker.on('close', transition('closed'));
      this.breaker = breaker;
    }
  }

  /** Counts one upstream answer (outcome="response" of gateway_upstream_requests_total, flushed on scrape). */
  countResponse(): void {
    this.#responses++;
  }

  /** Responses counted since the last call. */
  takeResponses(): number {
    const n = this.#responses;
    this.#responses = 0;
    return n;
  }

  get breakerState(): BreakerState {
    if (!this.breaker) return 'closed';
    if (this.breaker.halfOpen) return 'half-open';
    return this.breaker.opened ? 'open' : 'closed';
  }

  /**
   * One attempt, through the breaker when there is one. `attempt` settles when
   * the response head arrives and rejects with UpstreamStatusError on 5xx
   * (except 501), which the breaker counts as a failure.
   */
  send(attempt: () => Promise<void>): Promise<void> {
    return this.breaker ? this.breaker.fire(attempt) : attempt();
  }

  async close(): Promise<void> {
    this.breaker?.shutdown();
    await this.pool.close();
  }
}

/** True for opossum's "circuit is open" rejection. */
export function isCircuitOpen(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EOPENBREAKER';
}
