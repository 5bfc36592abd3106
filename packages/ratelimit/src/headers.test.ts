import { describe, expect, it } from '@jest/globals';
import { toProblem } from '@bulwark/errors';
import { rateLimitHeaders } from './headers.ts';
import { decisionError } from './middleware.ts';
import { compilePolicy } from './policy.ts';
import type { Decision } from './rate-limiter.ts';

const ip = compilePolicy({ name: 'per-ip', algorithm: 'sliding-window', limit: 100, windowSeconds: 60 });
const user = compilePolicy({ name: 'per-user', algorithm: 'token-bucket', limit: 10, windowSeconds: 1.5 });

describe('rateLimitHeaders', () => {
  it('when a request is admitted, then RateLimit-Policy and RateLimit list every policy and Retry-After is absent', () => {
    const d: Decision = {
      allowed: true, outcome: 'allowed', source: 'redis', retryAfterMs: 0,
      policies: [
        { name: 'per-ip', policy: ip, allowed: true, remaining: 42, resetMs: 9_001, retryAfterMs: 0 },
        { name: 'per-user', policy: user, allowed: true, remaining: 3, resetMs: 0, retryAfterMs: 0 },
      ],
    };
    expect(rateLimitHeaders(d)).toEqual({
      'ratelimit-policy': '"per-ip";q=100;w=60, "per-user";q=10;w=2',
      ratelimit: '"per-ip";r=42;t=10, "per-user";r=3;t=0',
    });
  });

  it('when a request is rejected, then Retry-After is the rejecting wait rounded up to whole seconds', () => {
    const d: Decision = {
      allowed: false, outcome: 'denied', source: 'redis', retryAfterMs: 1_200,
      policies: [{ name: 'per-user', policy: user, allowed: false, remaining: 0, resetMs: 1_500, retryAfterMs: 1_200 }],
    };
    expect(rateLimitHeaders(d)).toMatchObject({ ratelimit: '"per-user";r=0;t=2', 'retry-after': '2' });
  });

  it('when the cost can never fit, then no Retry-After is sent', () => {
    const d: Decision = { allowed: false, outcome: 'denied', source: 'redis', retryAfterMs: -1, policies: [] };
    expect(rateLimitHeaders(d)['retry-after']).toBeUndefined();
  });
});

describe('decisionError', () => {
  it('when a decision is a denial, then the refusal carries RateLimit-Policy, RateLimit and Retry-After, so any problem writer sends them', () => {
    const d: Decision = {
      allowed: false, outcome: 'denied', source: 'redis', retryAfterMs: 1_200,
      policies: [{ name: 'per-user', policy: user, allowed: false, remaining: 0, resetMs: 1_500, retryAfterMs: 1_200 }],
    };
    const problem = toProblem(decisionError(d), '/x');
    expect(problem.status).toBe(429);
    expect(problem.headers).toEqual(rateLimitHeaders(d));
  });

  it('when the limiter is unavailable, then 503 with Retry-After and no RateLimit fields', () => {
    const d: Decision = { allowed: false, outcome: 'unavailable', source: 'none', retryAfterMs: 2_000, policies: [] };
    const problem = toProblem(decisionError(d), '/x');
    expect(problem.status).toBe(503);
    expect(problem.headers).toEqual({ 'retry-after': '2' });
  });
});
