/**
 * Response header fields of draft-ietf-httpapi-ratelimit-headers (draft 10/11):
 * `RateLimit-Policy` lists the quota policies (`"name";q=<units>;w=<seconds>`),
 * `RateLimit` the current state of each (`"name";r=<remaining>;t=<seconds>`),
 * both as RFC 9651 structured-field Lists of Items whose value is the policy
 * name as a String. `Retry-After` (RFC 9110) accompanies a rejection.
 */
import type { Decision } from './rate-limiter.ts';

export const RATELIMIT_POLICY_HEADER = 'RateLimit-Policy';
export const RATELIMIT_HEADER = 'RateLimit';

/** `RateLimit-Policy` value for the policies a decision covered. */
export function formatPolicyHeader(decision: Decision): string {
  let out = '';
  for (const p of decision.policies) out += (out === '' ? '' : ', ') + p.policy.policyItem;
  return out;
}

/** `RateLimit` value: remaining units and seconds until the quota is whole again, per policy. */
export function formatRateLimitHeader(decision: Decision): string {
  let out = '';
  for (const p of decision.policies) {
    out += `${out === '' ? '' : ', '}${p.policy.quotedName};r=${p.remaining};t=${Math.ceil(p.resetMs / 1000)}`;
  }
  return out;
}

/** Seconds for `Retry-After`, or undefined when retrying cannot help (cost above the limit). */
export function retryAfterSeconds(decision: Decision): number | undefined {
  if (decision.retryAfterMs < 0) return undefined;
  return Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
}

/** All header fields for a decision, lower-case names. */
export function rateLimitHeaders(decision: Decision): Record<string, string> {
  const headers: Record<string, string> = {};
  if (decision.policies.length > 0) {
    headers['ratelimit-policy'] = formatPolicyHeader(decision);
    headers.ratelimit = formatRateLimitHeader(decision);
  }
  if (!decision.allowed) {
    const retry = retryAfterSeconds(decision);
    if (retry !== undefined) headers['retry-after'] = String(retry);
  }
  return headers;
}
