/**
 * Retry delays: exponential backoff with full jitter (AWS architecture blog,
 * "Exponential Backoff And Jitter"): the delay before retry n is a whole
 * number of ms, uniform in [1, min(cap, base·2^(n-1))]. Full jitter spreads
 * retries of jobs that failed together (a provider outage) instead of
 * re-synchronising them into waves. The floor is 1 ms, not 0: BullMQ takes a
 * backoff of 0 as "retry now" and skips the delayed set, so with a 0 floor a
 * small share of retries (1 in `base` for the first) ran at once, without
 * waiting and without a `delayed` event.
 */

export interface BackoffPolicy {
  /** Ceiling of the first retry's delay, in ms. */
  baseMs: number;
  /** Largest delay ever returned, in ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 5 * 60_000 };

/** Name under which the strategy is registered in BullMQ job options (`backoff.type`). */
export const FULL_JITTER = 'bulwark-full-jitter';

/** Upper bound (inclusive) of the delay before retry `attempt` (1-based). */
export function backoffCeiling(attempt: number, policy: BackoffPolicy): number {
  const exp = Math.max(0, Math.floor(attempt) - 1);
  // 2^exp overflows to Infinity long after it passes any sane cap; min() handles it.
  return Math.min(policy.capMs, policy.baseMs * 2 ** exp);
}

/**
 * Delay in ms before retry `attempt` (1 = first retry). `random` returns a
 * number in [0, 1); injectable so tests can pin the bounds.
 */
export function fullJitterDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  return 1 + Math.floor(random() * backoffCeiling(attempt, policy));
}
