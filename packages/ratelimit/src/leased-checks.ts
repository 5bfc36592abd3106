/**
 * The leased side of a check: serving a request from this instance's quota
 * leases, waiting for a refill already in flight for a hot key, and the Redis
 * call for the hits without a sufficient lease (asking for lease units,
 * reserving the cost from the sufficient leases meanwhile). Keeps the limiter's
 * all-or-nothing rule across leased and exact policies. See README "Leases".
 */
import { beginRefill, endRefill, type Lease, type LeaseTable } from './leases.ts';
import type { RateLimitMetrics } from './metrics.ts';
import { putCallArgs, putPolicyArgs, type CompiledPolicy } from './policy.ts';
import type { Decision, PolicyDecision } from './rate-limiter.ts';
import type { RedisGuard } from './redis-guard.ts';

export interface LeasedChecksOptions {
  leases: LeaseTable;
  metrics: RateLimitMetrics;
  guard: RedisGuard;
  /** The limiter's test clock; a monotonic clock when undefined. */
  clock: (() => number) | undefined;
  /** The failure-mode decision (Redis skipped or failed). */
  fallback: (compiled: readonly CompiledPolicy[], keys: readonly string[], cost: number) => Decision;
}

/**
 * How long granted units may be spent, from the reply's reset: the lease TTL,
 * and never past the end of the window the units were counted in (fixed
 * window: the reset; sliding window: the reset minus one window). 1 ms short,
 * since Redis rounds the reset up.
 */
function leaseLifetimeMs(policy: CompiledPolicy, resetMs: number): number {
  if (policy.algorithm === 'fixed-window') return Math.min(policy.leaseTtlMs, resetMs - 1);
  if (policy.algorithm === 'sliding-window') return Math.min(policy.leaseTtlMs, resetMs - policy.windowMs - 1);
  return policy.leaseTtlMs;
}

/** How many in-flight refills a check waits for before it calls Redis itself. */
const MAX_REFILL_WAITS = 4;

export class LeasedChecks {
  readonly #leases: LeaseTable;
  readonly #guard: RedisGuard;
  readonly #clock: (() => number) | undefined;
  readonly #fallback: LeasedChecksOptions['fallback'];
  readonly #metrics: RateLimitMetrics;
  /** Scratch for serve(); used synchronously only. */
  readonly #found: Lease[] = [];

  constructor(options: LeasedChecksOptions) {
    this.#leases = options.leases;
    this.#metrics = options.metrics;
    this.#guard = options.guard;
    this.#clock = options.clock;
    this.#fallback = options.fallback;
  }

  /** Limiter time for leases: the test clock, else a monotonic clock (ms). */
  now(): number {
    return this.#clock === undefined ? performance.now() : this.#clock();
  }

  /**
   * The decision for resolved hits of which some are leased and `serve` did
   * not serve: waits for a refill in flight when that can serve it, else one
   * Redis call. `compiled`/`keys` must be the caller's own copies.
   */
  check(compiled: CompiledPolicy[], keys: string[], cost: number, now: number): Promise<Decision> {
    const pending = this.#pendingRefill(compiled, keys, cost, now);
    return pending === undefined ? this.#callRedis(compiled, keys, cost, now) : this.#afterRefill(pending, compiled, keys, cost);
  }

  /** The lease-served decision for the first `n` resolved hits, or undefined (nothing consumed). */
  serve(compiled: readonly CompiledPolicy[], keys: readonly string[], n: number, cost: number, now: number): Decision | undefined {
    const found = this.#found;
    for (let i = 0; i < n; i++) {
      const policy = compiled[i]!;
      if (policy.leaseUnits === 0) return undefined;
      const lease = this.#leases.live(keys[i]!, policy, now);
      if (lease === undefined || lease.units < cost) return undefined;
      found[i] = lease;
    }
    const policies = new Array<PolicyDecision>(n);
    for (let i = 0; i < n; i++) {
      const policy = compiled[i]!;
      const lease = found[i]!;
      lease.units -= cost;
      policies[i] = { name: policy.name, policy, allowed: true, remaining: lease.lastRemaining + lease.units, resetMs: Math.max(0, Math.ceil(lease.resetAt - now)), retryAfterMs: 0 };
      this.#metrics.decision(policy.name, 'allowed', 'lease');
    }
    return { allowed: true, outcome: 'allowed', source: 'lease', retryAfterMs: 0, policies };
  }

  /**
   * The refill to wait for instead of calling Redis: when every hit's policy
   * is leased and each one short of `cost` has a grant in flight (another
   * check is already asking Redis for it). Undefined when this check must go
   * to Redis itself.
   */
  #pendingRefill(compiled: readonly CompiledPolicy[], keys: readonly string[], cost: number, now: number): Promise<void> | undefined {
    let pending: Promise<void> | undefined;
    for (let i = 0; i < compiled.length; i++) {
      const policy = compiled[i]!;
      if (policy.leaseUnits < cost) return undefined; // never servable from a lease
      const lease = this.#leases.live(keys[i]!, policy, now);
      if (lease !== undefined && lease.units >= cost) continue;
      if (lease?.refill === undefined) return undefined;
      pending ??= lease.refill;
    }
    return pending;
  }

  /**
   * Waits for in-flight refills (each settles within `timeoutMs`), at most
   * MAX_REFILL_WAITS times, serving from the refilled leases when they
   * suffice; else goes to Redis. This keeps one hot key at one Redis call per
   * grant however many requests for it are in flight.
   */
  async #afterRefill(pending: Promise<void>, compiled: CompiledPolicy[], keys: string[], cost: number): Promise<Decision> {
    for (let waits = 1; ; waits++) {
      await pending;
      const now = this.now();
      const served = this.serve(compiled, keys, compiled.length, cost, now);
      if (served !== undefined) return served;
      const next = waits < MAX_REFILL_WAITS ? this.#pendingRefill(compiled, keys, cost, now) : undefined;
      if (next === undefined) return this.#callRedis(compiled, keys, cost, now);
      pending = next;
    }
  }

  /**
   * One Redis call for the hits without a sufficient lease (asking for lease
   * units for leased ones, unless a grant for that key is already in flight);
   * `cost` is reserved from the sufficient leases meanwhile.
   */
  async #callRedis(compiled: CompiledPolicy[], keys: string[], cost: number, now: number): Promise<Decision> {
    const guard = this.#guard;
    if (!guard.shouldTry()) return this.#fallback(compiled, keys, cost);
    const n = compiled.length;
    const leases = this.#leases;
    const reserved = new Array<Lease | undefined>(n);
    const asked = new Array<Lease | undefined>(n);
    const subset: number[] = [];
    let extras = false;
    for (let i = 0; i < n; i++) {
      const policy = compiled[i]!;
      if (policy.leaseUnits > 0) {
        const lease = leases.live(keys[i]!, policy, now);
        if (lease !== undefined && lease.units >= cost) {
          lease.units -= cost;
          reserved[i] = lease;
          continue;
        }
        if (lease?.refill === undefined) {
          const refill = lease ?? leases.open(keys[i]!, policy);
          beginRefill(refill);
          asked[i] = refill;
          extras = true;
        }
      }
      subset.push(i);
    }
    // subset is never empty: callers come here right after serve() failed, with no await in between.
    const m = subset.length;
    const argv = new Array<string>(m * (extras ? 5 : 4) + 2);
    for (let j = 0; j < m; j++) {
      const i = subset[j]!;
      const policy = compiled[i]!;
      putPolicyArgs(argv, m, j, keys[i]!, policy);
      if (extras) {
        const lease = asked[i];
        argv[4 * m + 2 + j] = lease === undefined ? '0' : lease.units === 0 ? policy.leaseArg : String(Math.max(0, policy.leaseUnits - lease.units));
      }
    }
    putCallArgs(argv, m, this.#clock === undefined ? undefined : now, cost);

    const started = performance.now();
    let reply: number[];
    try {
      reply = (await guard.call(m, argv)) as number[];
    } catch (err) {
      for (let i = 0; i < n; i++) {
        const lease = reserved[i];
        if (lease !== undefined) leases.refund(keys[i]!, lease, cost);
        const refill = asked[i];
        if (refill !== undefined) endRefill(refill);
      }
      guard.failed(err, started);
      return this.#fallback(compiled, keys, cost);
    }
    guard.succeeded(started);

    const allowed = reply[0] === 1;
    const at = this.now();
    const policies = new Array<PolicyDecision>(n);
    let retryAfterMs = 0;
    for (let i = 0; i < n; i++) {
      const lease = reserved[i];
      if (lease === undefined) continue;
      const policy = compiled[i]!;
      if (allowed) this.#metrics.decision(policy.name, 'allowed', 'lease');
      else leases.refund(keys[i]!, lease, cost);
      policies[i] = { name: policy.name, policy, allowed: true, remaining: lease.lastRemaining + lease.units, resetMs: Math.max(0, Math.ceil(lease.resetAt - at)), retryAfterMs: 0 };
    }
    for (let j = 0; j < m; j++) {
      const i = subset[j]!;
      const policy = compiled[i]!;
      const key = keys[i]!;
      const b = 1 + j * 4;
      const ok = reply[b] === 1;
      const remaining = reply[b + 1]!;
      const resetMs = reply[b + 2]!;
      const retry = reply[b + 3]!;
      const refill = asked[i];
      if (refill !== undefined) {
        const granted = reply[1 + 4 * m + j]!;
        if (granted > 0) leases.grant(key, refill, granted, now + leaseLifetimeMs(policy, resetMs), remaining, now + resetMs, at);
        endRefill(refill);
      }
      const held = policy.leaseUnits > 0 ? (leases.live(key, policy, at)?.units ?? 0) : 0;
      policies[i] = { name: policy.name, policy, allowed: ok, remaining: remaining + held, resetMs, retryAfterMs: retry };
      if (!ok) {
        retryAfterMs = retry < 0 || retryAfterMs < 0 ? -1 : Math.max(retryAfterMs, retry);
        this.#metrics.decision(policy.name, 'denied', 'redis');
      } else if (allowed) {
        this.#metrics.decision(policy.name, 'allowed', 'redis');
      }
    }
    return { allowed, outcome: allowed ? 'allowed' : 'denied', source: 'redis', retryAfterMs, policies };
  }
}
