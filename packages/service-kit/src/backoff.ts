/**
 * The one retry backoff of the code base: exponential from `baseMs`, doubling
 * per attempt up to `capMs`, with the jitter the caller picks (AWS
 * Architecture Blog, "Exponential Backoff And Jitter"):
 *
 * - `none`: the ceiling itself, min(cap, base·2^(n−1)) — a single retrier
 *   (an operator's work queue, a lockout) that nothing needs to spread;
 * - `full`: uniform in [0, ceiling) — spreads clients that failed together
 *   the most (a provider outage), at the price of some very short waits;
 * - `equal`: uniform in [ceiling/2, ceiling] — half the wait is guaranteed,
 *   the other half keeps conflicting retriers out of lockstep.
 *
 * Pure and synchronous; `random` is injectable so tests can pin the bounds.
 * Attempts are 1-based: attempt 1 is the first retry and waits up to `baseMs`.
 */

export type Jitter = 'none' | 'full' | 'equal';

export interface BackoffPolicy {
  /** Ceiling of the first retry's delay, in ms. */
  baseMs: number;
  /** Largest delay ever returned, in ms. */
  capMs: number;
  /** Default `none`. */
  jitter?: Jitter;
}

/** 2^52 is the last power of two that times a small base stays exact; past it the cap has long applied. */
const MAX_EXPONENT = 52;

/**
 * Upper bound of the delay before retry `attempt`: min(cap, base·2^(attempt−1)).
 * An attempt below 1 or fractional counts as the whole attempt below it, at least the first.
 */
export function backoffCeiling(attempt: number, policy: Pick<BackoffPolicy, 'baseMs' | 'capMs'>): number {
  const exponent = Math.min(MAX_EXPONENT, Math.max(0, Math.floor(attempt) - 1));
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
}

/** Delay in whole ms before retry `attempt` (1-based); `random` returns a number in [0, 1). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt, policy);
  switch (policy.jitter ?? 'none') {
    case 'none':
      return ceiling;
    case 'full':
      return Math.floor(random() * ceiling);
    case 'equal':
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
  }
}
