/**
 * Login throttling, in front of the password check (so it also bounds the
 * argon2 work an attacker can cause), and the capped lockout after it.
 *
 * Rate limits (@bulwark/ratelimit, Redis, one atomic check of all three):
 * - `login-ip`: attempts per client IP, whatever the account (spraying);
 * - `login-ip-account`: attempts per client IP and account (guessing);
 * - `login-account`: attempts per account from all IPs together
 *   (distributed guessing). This one can be spent by others: it is the
 *   only limit a third party can make the owner hit, and it lasts only its
 *   15-minute window.
 * Lockout (PostgreSQL, lockout-policy.ts): per (account, IP) pair.
 * All keys are the typed tenant slug and email, so unknown accounts are
 * throttled and locked exactly like real ones.
 *
 * `account-mail` caps verification and reset emails per account (silently:
 * the answer is the same).
 */
import { decisionError, type PolicyConfig, type RateLimiter } from '@bulwark/ratelimit';
import type { Queryable } from '@bulwark/db';
import { identityError } from '../errors.ts';
import { forgetPair, lockFor, lockRemainingMs, recordFailure, type LockoutKey } from '../store/lockout-store.ts';
import { lockSecondsAfter, type LockoutPolicy } from './lockout-policy.ts';

/** One hash tag for every login key: the three counters of a check are updated atomically (README "Key design"). */
const SCOPE = 'identity-login';

export interface LoginLimits {
  perIp: number;
  perIpAccount: number;
  perAccount: number;
  mailsPerAccountPerHour?: number;
}

export function loginPolicies(limits: LoginLimits): PolicyConfig[] {
  return [
    { name: 'login-ip', algorithm: 'token-bucket', limit: limits.perIp, windowSeconds: 60 },
    { name: 'login-ip-account', algorithm: 'token-bucket', limit: limits.perIpAccount, windowSeconds: 60 },
    { name: 'login-account', algorithm: 'sliding-window', limit: limits.perAccount, windowSeconds: 900 },
    { name: 'account-mail', algorithm: 'sliding-window', limit: limits.mailsPerAccountPerHour ?? 5, windowSeconds: 3600 },
  ];
}

export class LoginThrottle {
  readonly #limiter: RateLimiter;
  readonly #lockout: LockoutPolicy;

  constructor(limiter: RateLimiter, lockout: LockoutPolicy) {
    this.#limiter = limiter;
    this.#lockout = lockout;
  }

  /** 429 RATE_LIMITED (503 when failing closed) unless every login limit admits the attempt. */
  async admitLogin(ip: string, tenantSlug: string, email: string): Promise<void> {
    const account = `${tenantSlug}/${email}`;
    const decision = await this.#limiter.check(
      [
        { policy: 'login-ip-account', subject: `${ip}/${account}` },
        { policy: 'login-ip', subject: ip },
        { policy: 'login-account', subject: account },
      ],
      { scope: SCOPE },
    );
    if (!decision.allowed) {
      throw decisionError(decision); // carries the RateLimit fields itself
    }
  }

  /** Whether another account email may go to this address now. */
  async admitMail(tenantSlug: string, email: string): Promise<boolean> {
    const decision = await this.#limiter.check([{ policy: 'account-mail', subject: `${tenantSlug}/${email}` }], { scope: SCOPE });
    return decision.allowed;
  }

  /** 429 IDENTITY_LOGIN_LOCKED with Retry-After while the pair is locked. */
  async assertNotLocked(db: Queryable, key: LockoutKey): Promise<void> {
    const ms = await lockRemainingMs(db, key);
    if (ms > 0) {
      const seconds = Math.max(1, Math.ceil(ms / 1000));
      throw identityError('IDENTITY_LOGIN_LOCKED', `too many failed logins from this address; retry in ${seconds} s`, { retryAfterSeconds: seconds });
    }
  }

  /** Counts a failed login of the pair and locks it when the policy says so; returns the lock in seconds (0: none). */
  async recordFailure(db: Queryable, key: LockoutKey): Promise<number> {
    const failures = await recordFailure(db, key);
    const seconds = lockSecondsAfter(failures, this.#lockout);
    if (seconds > 0) await lockFor(db, key, seconds);
    return seconds;
  }

  async recordSuccess(db: Queryable, key: LockoutKey): Promise<void> {
    await forgetPair(db, key);
  }
}
