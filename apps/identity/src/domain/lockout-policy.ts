/**
 * The lockout rule of password login, pure. State is kept per (tenant, email,
 * client IP) — also for emails no account has, so a lock says nothing about
 * whether an account exists.
 *
 * - Below `threshold` consecutive failures of a pair nothing is locked.
 * - From the threshold on, each failure locks the pair for
 *   base · 2^(failures − threshold), capped at `max`: a lock is never longer
 *   than `max`, so the owner is never locked out for good.
 * - A lock only stops that pair: a guesser at one address cannot lock the
 *   owner out at another (the distributed case is bounded by the per-account
 *   rate limit's window instead).
 * - A successful login from the pair forgets it; a password reset forgets every
 *   pair of the account.
 */
import { backoffCeiling } from '@bulwark/service-kit/backoff';

export interface LockoutPolicy {
  threshold: number;
  baseSeconds: number;
  maxSeconds: number;
}

/** Seconds the pair is locked after its `failures`-th consecutive failure (0: not locked). */
export function lockSecondsAfter(failures: number, policy: LockoutPolicy): number {
  if (failures < policy.threshold) return 0;
  // The kit's backoff ceiling (no jitter: a lock length is told to the client), counted in seconds here.
  return backoffCeiling(failures - policy.threshold + 1, { baseMs: policy.baseSeconds, capMs: policy.maxSeconds });
}

/** Whole seconds until `lockedUntil` (ms epoch) from `now`, at least 1 while locked; 0 when not locked. */
export function retryAfterSeconds(lockedUntil: number | null, now: number): number {
  if (lockedUntil === null || lockedUntil <= now) return 0;
  return Math.max(1, Math.ceil((lockedUntil - now) / 1000));
}
