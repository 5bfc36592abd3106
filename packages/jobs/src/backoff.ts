/**
 * Retry delays of jobs: the service kit's backoff with full jitter (AWS
 * architecture blog, "Exponential Backoff And Jitter"): the delay before
 * retry n is a whole number of ms, uniform in [1, min(cap, base·2^(n-1))].
 * Full jitter spreads retries of jobs that failed together (a provider
 * outage) instead of re-synchronising them into waves. The floor is 1 ms, not
 * 0: BullMQ takes a backoff of 0 as "retry now" and skips the delayed set, so
 * with a 0 floor a small share of retries (1 in `base` for the first) ran at
 * once, without waiting and without a `delayed` event.
 */
import { backoffCeiling, backoffDelay, type BackoffPolicy as KitBackoffPolicy } from '@bulwark/service-kit/backoff';

export { backoffCeiling };

/** Base and cap of a queue's retries; the jitter is always full. */
export type BackoffPolicy = Pick<KitBackoffPolicy, 'baseMs' | 'capMs'>;

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 5 * 60_000 };

/** Name under which the strategy is registered in BullMQ job options (`backoff.type`). */
export const FULL_JITTER = 'bulwark-full-jitter';

/**
 * Delay in ms before retry `attempt` (1 = first retry), in [1, ceiling].
 * `random` returns a number in [0, 1); injectable so tests can pin the bounds.
 */
export function fullJitterDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  return 1 + backoffDelay(attempt, { baseMs: policy.baseMs, capMs: policy.capMs, jitter: 'full' }, random);
}
