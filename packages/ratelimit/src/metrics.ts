/**
 * Prometheus metrics of the limiter, registered on the registry the caller
 * passes in (several limiters may share one registry: existing metrics are
 * reused). Nothing on a check's path hashes labels: decisions are tallied in
 * arrays and flushed on scrape, and the script latency is a BucketHistogram
 * (the service kit's) whose series per result are kept here. Metrics are
 * got-or-created through the kit's ensure* helpers.
 */
import type { BucketHistogram, HistogramSeries } from '@bulwark/service-kit/histogram';
import { ensureBucketHistogram, ensureCounter, ensureGauge } from '@bulwark/service-kit/metrics';
import type { Counter, Gauge, Registry } from 'prom-client';

export type Outcome = 'allowed' | 'denied' | 'unavailable';
export type Source = 'redis' | 'local' | 'none' | 'lease';
export type ScriptResult = 'ok' | 'error' | 'timeout';

const OUTCOMES: Record<Outcome, number> = { allowed: 0, denied: 1, unavailable: 2 };
const SOURCES: Record<Source, number> = { redis: 0, local: 1, none: 2, lease: 3 };
const OUTCOME_NAMES: Outcome[] = ['allowed', 'denied', 'unavailable'];
const SOURCE_NAMES: Source[] = ['redis', 'local', 'none', 'lease'];
const SLOTS = OUTCOME_NAMES.length * SOURCE_NAMES.length;
/** Per policy: decision counts (outcome × source), then lease units granted, then lease units expired unused. */
const GRANTED = SLOTS;
const EXPIRED = SLOTS + 1;
const SCRIPT_DURATION = 'bulwark_ratelimit_script_duration_seconds';

export class RateLimitMetrics {
  readonly decisions: Counter<'policy' | 'outcome' | 'source'>;
  /** Labelled by result: ok, error, timeout. */
  readonly scriptDuration: BucketHistogram;
  readonly fallbackActivations: Counter<'mode'>;
  readonly degraded: Gauge;
  readonly leaseUnitsGranted: Counter<'policy'>;
  readonly leaseUnitsExpired: Counter<'policy'>;
  /** Runs before pending counts are flushed (the limiter sweeps expired leases there). */
  beforeFlush: (() => void) | undefined;
  /** Per policy name, counts not yet handed to prom-client (layout: GRANTED, EXPIRED). */
  readonly #pending = new Map<string, number[]>();
  static readonly #flushers = new WeakMap<Counter, Set<RateLimitMetrics>>();
  /** Limiters sharing a registry share the histogram and its series. */
  static readonly #sharedSeries = new WeakMap<BucketHistogram, Record<ScriptResult, HistogramSeries>>();
  readonly #durationSeries: Record<ScriptResult, HistogramSeries>;

  constructor(registry: Registry) {
    const flushers = new Set<RateLimitMetrics>();
    const collect = (): void => {
      for (const m of flushers) m.flush();
    };
    this.decisions = ensureCounter(registry, {
      name: 'bulwark_ratelimit_decisions_total',
      collect,
      help: 'Rate-limit decisions per policy: outcome (allowed, denied, unavailable) and source (redis, local fallback, none, lease served locally).',
      labelNames: ['policy', 'outcome', 'source'] as const,
    });
    // Limiters sharing a registry share the counter; each registers to be flushed by its collect().
    const set = RateLimitMetrics.#flushers.get(this.decisions) ?? flushers;
    RateLimitMetrics.#flushers.set(this.decisions, set);
    set.add(this);
    this.scriptDuration = ensureBucketHistogram(
      registry,
      SCRIPT_DURATION,
      'Latency of the rate-limit Lua script round trip, by result (ok, error, timeout).',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    );
    this.fallbackActivations = ensureCounter(registry, {
      name: 'bulwark_ratelimit_fallback_activations_total',
      help: 'Times the limiter switched from Redis to its failure mode (fail-open local limiter or fail-closed).',
      labelNames: ['mode'] as const,
    });
    this.degraded = ensureGauge(registry, {
      name: 'bulwark_ratelimit_degraded',
      help: '1 while the limiter bypasses Redis because it is down or slow, else 0.',
    });
    this.leaseUnitsGranted = ensureCounter(registry, {
      name: 'bulwark_ratelimit_lease_units_granted_total',
      collect,
      help: 'Quota lease units this instance took from Redis on top of request costs, per policy.',
      labelNames: ['policy'] as const,
    });
    this.leaseUnitsExpired = ensureCounter(registry, {
      name: 'bulwark_ratelimit_lease_units_expired_total',
      collect,
      help: 'Lease units that expired or were dropped unused (taken from the quota, never admitted: the under-admission leases cost), per policy.',
      labelNames: ['policy'] as const,
    });
    const durations = RateLimitMetrics.#sharedSeries.get(this.scriptDuration) ?? {
      ok: this.scriptDuration.series({ result: 'ok' }),
      error: this.scriptDuration.series({ result: 'error' }),
      timeout: this.scriptDuration.series({ result: 'timeout' }),
    };
    RateLimitMetrics.#sharedSeries.set(this.scriptDuration, durations);
    this.#durationSeries = durations;
  }

  /**
   * Counts a decision. prom-client hashes and validates labels on every inc,
   * even through a labels() child, so decisions are tallied in plain arrays
   * and handed to the counter when a scrape collects it.
   */
  decision(policy: string, outcome: Outcome, source: Source): void {
    this.#pendingOf(policy)[OUTCOMES[outcome] * SOURCE_NAMES.length + SOURCES[source]]! += 1;
  }

  /** Counts lease units taken from Redis for a policy. */
  leaseGranted(policy: string, units: number): void {
    this.#pendingOf(policy)[GRANTED]! += units;
  }

  /** Counts lease units that expired or were dropped without admitting anything. */
  leaseExpired(policy: string, units: number): void {
    this.#pendingOf(policy)[EXPIRED]! += units;
  }

  #pendingOf(policy: string): number[] {
    let pending = this.#pending.get(policy);
    if (!pending) {
      pending = new Array<number>(SLOTS + 2).fill(0);
      this.#pending.set(policy, pending);
    }
    return pending;
  }

  /** Moves pending counts into the prom-client counters (runs on scrape). */
  flush(): void {
    this.beforeFlush?.();
    for (const [policy, pending] of this.#pending) {
      for (let i = 0; i < SLOTS; i++) {
        const n = pending[i]!;
        if (n === 0) continue;
        pending[i] = 0;
        const sources = SOURCE_NAMES.length;
        this.decisions.inc({ policy, outcome: OUTCOME_NAMES[Math.floor(i / sources)]!, source: SOURCE_NAMES[i % sources]! }, n);
      }
      const granted = pending[GRANTED]!;
      if (granted > 0) this.leaseUnitsGranted.inc({ policy }, granted);
      const expired = pending[EXPIRED]!;
      if (expired > 0) this.leaseUnitsExpired.inc({ policy }, expired);
      pending[GRANTED] = 0;
      pending[EXPIRED] = 0;
    }
  }

  scriptSeconds(result: ScriptResult, seconds: number): void {
    this.scriptDuration.observe(this.#durationSeries[result], seconds);
  }
}
