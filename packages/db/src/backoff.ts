/**
 * Bounded exponential backoff with "equal jitter": the delay for attempt n is
 * drawn uniformly from [cap/2, cap] with cap = min(maxMs, baseMs * 2^(n-1)).
 * Half the window is guaranteed so retries do spread out; the random half
 * keeps conflicting transactions from retrying in lockstep.
 */

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Delay before retry number `attempt` (1-based); `random` returns [0, 1). */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(30, attempt - 1));
  const cap = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return Math.round(cap / 2 + random() * (cap / 2));
}
