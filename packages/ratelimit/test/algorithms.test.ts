/**
 * Semantics of each algorithm in the Lua script, against the shared Redis.
 * Most tests pass a controlled clock (ARGV time) so window boundaries are
 * exact; one test uses Redis TIME and waits for a real refill.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RateLimiter, type Decision, type PolicyConfig } from '../src/index.ts';
import { eventually } from '@bulwark/test-support';
import { deletePrefix, redisUrl, testPrefix } from './support/redis.ts';

let redis: Redis;
const prefixes: string[] = [];
beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterEach(async () => {
  for (const p of prefixes.splice(0)) await deletePrefix(redis, p);
});
afterAll(() => redis.disconnect());

/** A limiter on one policy with a clock the test moves; T0 is aligned to 1 s and 1 min windows. */
function setup(policy: PolicyConfig): { limiter: RateLimiter; prefix: string; at: (ms: number) => void; hit: () => Promise<Decision> } {
  const prefix = testPrefix();
  prefixes.push(prefix);
  const T0 = 1_800_000_000_000;
  let now = T0;
  // A generous timeout: these tests are about the algorithms, and on a loaded machine the default
  // 100 ms would hand some checks to the fail-open local limiter.
  const limiter = new RateLimiter({ redis, prefix, policies: [policy], clock: () => now, timeoutMs: 5_000 });
  return {
    limiter,
    prefix,
    at: (ms) => {
      now = T0 + ms;
    },
    hit: () => limiter.check([{ policy: policy.name, subject: 'client-1' }]),
  };
}

async function admittedOf(hit: () => Promise<Decision>, attempts: number): Promise<number> {
  let admitted = 0;
  for (let i = 0; i < attempts; i++) if ((await hit()).allowed) admitted++;
  return admitted;
}

describe('token bucket', () => {
  it('when a fresh bucket gets a burst, then exactly `limit` requests pass and the next waits one token', async () => {
    const { hit } = setup({ name: 'tb', algorithm: 'token-bucket', limit: 10, windowSeconds: 10 });
    expect(await admittedOf(hit, 10)).toBe(10);
    const rejected = await hit();
    expect(rejected).toMatchObject({ allowed: false, outcome: 'denied', source: 'redis', retryAfterMs: 1000 });
    expect(rejected.policies[0]).toMatchObject({ remaining: 0, resetMs: 10_000 });
  });

  it('when time passes, then tokens refill at limit/window and never beyond the limit', async () => {
    const { at, hit } = setup({ name: 'tb', algorithm: 'token-bucket', limit: 10, windowSeconds: 10 });
    expect(await admittedOf(hit, 10)).toBe(10);
    at(3_500); // 3.5 tokens back
    expect(await admittedOf(hit, 10)).toBe(3);
    at(1_000_000); // long idle: full bucket, not more
    expect(await admittedOf(hit, 20)).toBe(10);
  });

  it('when the bucket refills for real on Redis TIME, then a rejected client is admitted again', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const limiter = new RateLimiter({ redis, prefix, policies: [{ name: 'tb', algorithm: 'token-bucket', limit: 5, windowSeconds: 0.25 }], timeoutMs: 5_000 });
    const hit = (): Promise<Decision> => limiter.check([{ policy: 'tb', subject: 'real-time' }]);
    let first: Decision;
    do first = await hit(); while (first.allowed);
    expect(first.retryAfterMs).toBeGreaterThan(0);
    const later = await eventually('admitted again after the refill', hit, (d) => d.allowed, 30_000, 10);
    expect(later.allowed).toBe(true);
  });

  it('when the clock is Redis TIME, then the stored time is TIME in ms, also when its µs field has fewer than six digits', async () => {
    // The script builds the time string from TIME's digits (no number
    // formatting); a µs field under 100000 must be zero-padded.
    const prefix = testPrefix();
    prefixes.push(prefix);
    const limiter = new RateLimiter({ redis, prefix, policies: [{ name: 'tb', algorithm: 'token-bucket', limit: 1e9, windowSeconds: 60 }], timeoutMs: 5_000 });
    const msOf = ([s, us]: [string, string]): number => Number(s) * 1000 + Number(us) / 1000;
    let key: string | undefined;
    let shortFields = 0;
    for (let i = 0; i < 20_000 && shortFields < 3; i++) {
      const before = msOf((await redis.time()) as unknown as [string, string]);
      await limiter.check([{ policy: 'tb', subject: 'clock' }]);
      const after = msOf((await redis.time()) as unknown as [string, string]);
      key ??= (await redis.keys(`${prefix}*`))[0];
      const stored = Number(await redis.hget(key!, 'ts'));
      expect(stored).toBeGreaterThanOrEqual(before - 0.001);
      expect(stored).toBeLessThanOrEqual(after + 0.001);
      if (stored % 1000 < 100) shortFields++; // TIME's µs field was below 100000
    }
    expect(shortFields).toBe(3);
  });
});

describe('fixed window', () => {
  it('when the window is used up, then requests wait until the boundary, where the count restarts', async () => {
    const { at, hit } = setup({ name: 'fw', algorithm: 'fixed-window', limit: 5, windowSeconds: 60 });
    at(10_000);
    expect(await admittedOf(hit, 5)).toBe(5);
    const rejected = await hit();
    expect(rejected.retryAfterMs).toBe(50_000);
    expect(rejected.policies[0]).toMatchObject({ remaining: 0, resetMs: 50_000 });
    at(59_999);
    expect((await hit()).allowed).toBe(false);
    at(60_000);
    const fresh = await hit();
    expect(fresh.allowed).toBe(true);
    expect(fresh.policies[0]).toMatchObject({ remaining: 4, resetMs: 60_000 });
  });

  it('when a client bursts on both sides of a boundary, then it gets twice the limit (the known weakness)', async () => {
    const { at, hit } = setup({ name: 'fw', algorithm: 'fixed-window', limit: 5, windowSeconds: 60 });
    at(59_900);
    expect(await admittedOf(hit, 5)).toBe(5);
    at(60_100);
    expect(await admittedOf(hit, 10)).toBe(5);
  });
});

describe('sliding window (weighted counter)', () => {
  it('when a client bursts on both sides of a boundary, then the previous window still counts, weighted', async () => {
    const { at, hit } = setup({ name: 'sw', algorithm: 'sliding-window', limit: 10, windowSeconds: 1 });
    at(900);
    expect(await admittedOf(hit, 10)).toBe(10);
    at(1_100); // previous 10 weighs 0.9 → 9 used
    expect(await admittedOf(hit, 5)).toBe(1);
    at(1_500); // 10 × 0.5 + 1 = 6 used
    expect(await admittedOf(hit, 10)).toBe(4);
  });

  it('when rejected, then retryAfterMs is exactly when the weighted count makes room', async () => {
    const { at, hit } = setup({ name: 'sw', algorithm: 'sliding-window', limit: 10, windowSeconds: 1 });
    at(500);
    expect(await admittedOf(hit, 10)).toBe(10);
    const rejected = await hit(); // current window full: wait into the next until 10 × (1 - f) ≤ 9 → f = 0.1
    expect(rejected.retryAfterMs).toBe(600);
    at(500 + 599);
    expect((await hit()).allowed).toBe(false);
    at(500 + 600);
    expect((await hit()).allowed).toBe(true);
  });

  it('when two full windows pass, then the quota is whole again', async () => {
    const { at, hit } = setup({ name: 'sw', algorithm: 'sliding-window', limit: 3, windowSeconds: 1 });
    at(0);
    expect(await admittedOf(hit, 3)).toBe(3);
    at(2_000);
    const d = await hit();
    expect(d.policies[0]).toMatchObject({ allowed: true, remaining: 2 });
  });
});

describe('key expiry', () => {
  /** The one state key a single-policy limiter wrote under `prefix`. */
  async function stateKey(prefix: string): Promise<string> {
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    return keys[0]!;
  }

  it('when a token bucket is hit, then its key lives a whole window, renewed only when the refill would outlast it', async () => {
    const { prefix, at, hit } = setup({ name: 'tb', algorithm: 'token-bucket', limit: 10, windowSeconds: 10 });
    await hit();
    const key = await stateKey(prefix);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);
    const T0 = 1_800_000_000_000;
    expect(Number(await redis.hget(key, 'x'))).toBe(T0 + 10_000);
    // 5 s later the refill (about 1 s) ends well inside the TTL: no renewal.
    await redis.pexpire(key, 123_456);
    at(5_000);
    await hit();
    expect(await redis.pttl(key)).toBeGreaterThan(100_000);
    expect(Number(await redis.hget(key, 'x'))).toBe(T0 + 10_000);
    // At 9.5 s the refill would end after the known expiry: renewed for a window from now.
    at(9_500);
    await hit();
    expect(await redis.pttl(key)).toBeLessThanOrEqual(10_000);
    expect(Number(await redis.hget(key, 'x'))).toBe(T0 + 19_500);
    // A clock that steps back renews too (the known expiry is more than a window ahead).
    at(-5_000);
    await hit();
    expect(Number(await redis.hget(key, 'x'))).toBe(T0 + 5_000);
  });

  it.each([
    ['fixed-window', 60_000],
    ['sliding-window', 120_000],
  ] as const)('when a %s key is hit again in the same window, then its TTL is left alone, and the next window sets it again', async (algorithm, longest) => {
    const { prefix, at, hit } = setup({ name: 'w', algorithm, limit: 100, windowSeconds: 60 });
    await hit();
    const key = await stateKey(prefix);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(longest);
    await redis.pexpire(key, 1_234_567);
    at(30_000);
    await hit();
    expect(await redis.pttl(key)).toBeGreaterThan(1_000_000); // same window: untouched
    at(61_000);
    await hit();
    const renewed = await redis.pttl(key);
    expect(renewed).toBeGreaterThan(0);
    expect(renewed).toBeLessThanOrEqual(longest);
  });
});
