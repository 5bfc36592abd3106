/**
 * Quota leases held by one limiter instance: per state key, the units this
 * instance took from the shared Redis counter (atomically, on an admitted
 * request) and may spend locally until the lease expires. A bounded Map; the
 * units of a lease that expires, is evicted or belongs to a replaced policy
 * are counted as expired unused (the under-admission leases cost).
 */
import type { RateLimitMetrics } from './metrics.ts';
import type { CompiledPolicy } from './policy.ts';

export interface Lease {
  /** The compiled policy the units were taken under; a replaced policy drops the lease. */
  readonly policy: CompiledPolicy;
  /** Units left to spend locally. */
  units: number;
  /** Local time (limiter clock, ms) from which the units may no longer be spent. */
  expiresAt: number;
  /** Remaining units Redis reported at the last grant (this instance's units already taken). */
  lastRemaining: number;
  /** Local time at which the quota was whole again, as Redis reported at the last grant. */
  resetAt: number;
  /**
   * Settles when the grant in flight for this key does (undefined: none).
   * Concurrent misses wait for it rather than calling Redis themselves.
   */
  refill: Promise<void> | undefined;
  /** Settles `refill`. */
  endRefill: (() => void) | undefined;
}

/** Marks a grant for this lease's key as in flight. */
export function beginRefill(lease: Lease): void {
  lease.refill = new Promise<void>((resolve) => {
    lease.endRefill = resolve;
  });
}

/** The grant in flight settled (granted, rejected or failed): wakes the waiters. */
export function endRefill(lease: Lease): void {
  const end = lease.endRefill;
  lease.refill = undefined;
  lease.endRefill = undefined;
  end?.();
}

export class LeaseTable {
  readonly #leases = new Map<string, Lease>();
  readonly #maxKeys: number;
  readonly #metrics: RateLimitMetrics;

  constructor(maxKeys: number, metrics: RateLimitMetrics) {
    this.#maxKeys = Math.max(1, maxKeys);
    this.#metrics = metrics;
  }

  get size(): number {
    return this.#leases.size;
  }

  /**
   * The lease of `key` under `policy`, its units zeroed (and counted) first if
   * it expired; undefined when there is none or it belongs to another policy
   * version (then it is dropped).
   */
  live(key: string, policy: CompiledPolicy, now: number): Lease | undefined {
    const lease = this.#leases.get(key);
    if (lease === undefined) return undefined;
    if (lease.policy !== policy) {
      this.#drop(key, lease);
      return undefined;
    }
    if (lease.expiresAt <= now && lease.units > 0) this.#expire(lease);
    return lease;
  }

  /** The lease of `key`, created empty when absent. */
  open(key: string, policy: CompiledPolicy): Lease {
    let lease = this.#leases.get(key);
    if (lease !== undefined && lease.policy === policy) return lease;
    if (lease !== undefined) this.#drop(key, lease);
    lease = { policy, units: 0, expiresAt: 0, lastRemaining: 0, resetAt: 0, refill: undefined, endRefill: undefined };
    this.#leases.set(key, lease);
    if (this.#leases.size > this.#maxKeys) this.#evictOldest();
    return lease;
  }

  /** True while `lease` is still the table's lease for `key` (not evicted or replaced). */
  holds(key: string, lease: Lease): boolean {
    return this.#leases.get(key) === lease;
  }

  /**
   * Adds granted units. Units left from an earlier grant keep their earlier
   * expiry (the merged lease ends at the earlier one: never spent too late).
   */
  grant(key: string, lease: Lease, granted: number, expiresAt: number, lastRemaining: number, resetAt: number, now: number): void {
    this.#metrics.leaseGranted(lease.policy.name, granted);
    if (!this.holds(key, lease)) {
      this.#metrics.leaseExpired(lease.policy.name, granted);
      return;
    }
    if (lease.expiresAt <= now && lease.units > 0) this.#expire(lease);
    lease.expiresAt = lease.units > 0 ? Math.min(lease.expiresAt, expiresAt) : expiresAt;
    lease.units += granted;
    lease.lastRemaining = lastRemaining;
    lease.resetAt = resetAt;
    // Re-insert: Map order becomes least-recently-granted first, the eviction order.
    this.#leases.delete(key);
    this.#leases.set(key, lease);
  }

  /** Gives back units reserved for a request that was not admitted. */
  refund(key: string, lease: Lease, units: number): void {
    if (this.holds(key, lease)) lease.units += units;
    else this.#metrics.leaseExpired(lease.policy.name, units);
  }

  /**
   * Drops expired leases and those whose policy is no longer current
   * (`current(name)` returns the live compiled policy), counting their units.
   * Runs on scrape and on policy changes; O(size).
   */
  sweep(now: number, current: (name: string) => CompiledPolicy | undefined): void {
    for (const [key, lease] of this.#leases) {
      if (lease.policy !== current(lease.policy.name)) this.#drop(key, lease);
      else if (lease.expiresAt <= now && lease.refill === undefined) this.#drop(key, lease);
    }
  }

  clear(): void {
    for (const [key, lease] of this.#leases) this.#drop(key, lease);
  }

  #expire(lease: Lease): void {
    this.#metrics.leaseExpired(lease.policy.name, lease.units);
    lease.units = 0;
  }

  #drop(key: string, lease: Lease): void {
    if (lease.units > 0) this.#expire(lease);
    this.#leases.delete(key);
  }

  #evictOldest(): void {
    for (const [key, lease] of this.#leases) {
      this.#drop(key, lease);
      if (this.#leases.size <= this.#maxKeys) return;
    }
  }
}
