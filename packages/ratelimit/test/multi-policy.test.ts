/**
 * Several policies per request: one round trip, all-or-nothing consumption,
 * NOSCRIPT recovery, runtime policy changes and atomicity under concurrency.
 * Tests that read command statistics or flush scripts use a private
 * redis-server so the shared one is never disturbed. Limiters get a 5 s
 * timeout: on a loaded machine the 100 ms default would hand checks to the
 * fail-open fallback, which failure-modes.test.ts covers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RateLimiter, RATE_LIMIT_POLICY_UNKNOWN, loadScript, type Algorithm, type Hit } from '../src/index.ts';
import { EncodedEvalsha, type EncodedSlot } from '../src/encoded-command.ts';
import { RedisProcess, deletePrefix, redisUrl, testPrefix } from './support/redis.ts';

let shared: Redis;
let server: RedisProcess;
let privateRedis: Redis;
const prefixes: string[] = [];

beforeAll(async () => {
  shared = new Redis(redisUrl());
  server = await RedisProcess.start();
  privateRedis = new Redis(server.url);
});
afterEach(async () => {
  for (const p of prefixes.splice(0)) await deletePrefix(shared, p);
});
afterAll(async () => {
  shared.disconnect();
  privateRedis.disconnect();
  await server.stop();
});

function prefix(): string {
  const p = testPrefix();
  prefixes.push(p);
  return p;
}

async function commandCalls(redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info('commandstats');
  const calls: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
  return calls;
}

const request: Hit[] = [
  { policy: 'per-tenant', subject: 'acme' },
  { policy: 'per-user', subject: 'u-1' },
  { policy: 'per-ip', subject: '203.0.113.9' },
  { policy: 'per-route', subject: 'POST /orders' },
];
const policies = [
  { name: 'per-tenant', algorithm: 'sliding-window' as const, limit: 1000, windowSeconds: 60 },
  { name: 'per-user', algorithm: 'token-bucket' as const, limit: 3, windowSeconds: 3600 },
  { name: 'per-ip', algorithm: 'fixed-window' as const, limit: 100, windowSeconds: 60 },
  { name: 'per-route', algorithm: 'token-bucket' as const, limit: 500, windowSeconds: 3600 }, // refills one token per 7.2 s: exact counts in a slow run
];

describe('multi-policy checks', () => {
  it('when four policies are checked, then each check is exactly one EVALSHA and nothing else', async () => {
    const limiter = new RateLimiter({ redis: privateRedis, prefix: 'rl', policies, timeoutMs: 5_000 });
    await limiter.check(request); // loads the script (EVALSHA → NOSCRIPT → EVAL) on this fresh server
    await privateRedis.config('RESETSTAT');
    for (let i = 0; i < 5; i++) await limiter.check(request);
    const calls = await commandCalls(privateRedis);
    expect(calls.evalsha).toBe(5);
    expect(calls.eval).toBeUndefined();
    // Everything else that ran came from inside the script (HMGET/HSET/HINCRBY/PEXPIRE/TIME) or this test (CONFIG, INFO).
    const clientSide = Object.keys(calls).filter((c) => !['evalsha', 'hmget', 'hset', 'hincrby', 'pexpire', 'time', 'config|resetstat', 'config', 'info'].includes(c));
    expect(clientSide).toEqual([]);
  });

  it('when one policy rejects, then nothing is consumed from the other policies', async () => {
    // A fixed clock keeps every window boundary out of the way.
    const limiter = new RateLimiter({ redis: shared, prefix: prefix(), policies, clock: () => 1_800_000_030_000, timeoutMs: 5_000 });
    for (let i = 0; i < 3; i++) expect((await limiter.check(request)).allowed).toBe(true);
    const before = await limiter.check([{ policy: 'per-ip', subject: '203.0.113.9' }], { scope: 'per-tenant:acme' });
    expect(before.policies[0]!.remaining).toBe(100 - 4);

    for (let i = 0; i < 5; i++) {
      const rejected = await limiter.check(request);
      expect(rejected.allowed).toBe(false);
      expect(rejected.policies.map((p) => p.allowed)).toEqual([true, false, true, true]);
      expect(rejected.policies.map((p) => p.remaining)).toEqual([expect.any(Number), 0, 100 - 4, expect.any(Number)]);
    }
    const after = await limiter.check([{ policy: 'per-ip', subject: '203.0.113.9' }], { scope: 'per-tenant:acme' });
    expect(after.policies[0]!.remaining).toBe(100 - 5);
    const tenant = await limiter.check([{ policy: 'per-tenant', subject: 'acme' }]);
    expect(tenant.policies[0]!.remaining).toBe(1000 - 3 - 1);
  });

  it('when one frozen hits array is checked repeatedly, then it counts against the same keys as fresh arrays, and its scope option still applies', async () => {
    const limiter = new RateLimiter({ redis: shared, prefix: prefix(), policies, clock: () => 1_800_000_030_000, timeoutMs: 5_000 });
    const frozen = Object.freeze(request.map((h) => Object.freeze({ ...h })));
    for (let i = 0; i < 2; i++) expect((await limiter.check(frozen)).allowed).toBe(true);
    const fresh = await limiter.check(request.map((h) => ({ ...h })));
    expect(fresh.policies[1]!.remaining).toBe(0); // per-user (limit 3): both frozen checks and this one
    expect((await limiter.check(frozen)).allowed).toBe(false);
    // The same frozen array under another scope is another set of counters (keys are not reused across scopes).
    const scoped = await limiter.check(frozen, { scope: 'elsewhere' });
    expect(scoped.allowed).toBe(true);
    expect(scoped.policies[1]!.remaining).toBe(2);
    expect((await limiter.check(frozen, { scope: 'elsewhere' })).policies[1]!.remaining).toBe(1);
  });

  it('when a frozen hits array is checked with Redis time, then its reused command bytes count every call and follow runtime policy changes', async () => {
    const limiter = new RateLimiter({ redis: shared, prefix: prefix(), policies, timeoutMs: 5_000 });
    const frozen = Object.freeze(request.filter((h) => h.policy !== 'per-user').map((h) => Object.freeze({ ...h })));
    const remaining = async (): Promise<number[]> => (await limiter.check(frozen)).policies.map((p) => p.remaining);
    expect(await remaining()).toEqual([999, 99, 499]);
    expect(await remaining()).toEqual([998, 98, 498]);
    // The per-ip fixed window rises from 100 to 200: the same frozen array now sends the new limit.
    limiter.setPolicies(policies.map((p) => (p.name === 'per-ip' ? { ...p, limit: 200 } : p)));
    const raised = await limiter.check(frozen);
    expect(raised.policies.map((p) => p.remaining)).toEqual([997, 197, 497]);
    expect(raised.policies[1]!.policy.policyItem).toBe('"per-ip";q=200;w=60');
    // A cost of 2 is another argument list: encoded afresh, counted twice.
    expect((await limiter.check(frozen, { cost: 2 })).policies.map((p) => p.remaining)).toEqual([995, 195, 495]);
    expect(await remaining()).toEqual([994, 194, 494]);
  });

  it('when the script cache is flushed under a frozen hits array, then its reused EVALSHA bytes fall back to EVAL once too', async () => {
    const limiter = new RateLimiter({ redis: privateRedis, prefix: 'rl-noscript-frozen', policies, timeoutMs: 5_000 });
    const frozen = Object.freeze(request.map((h) => Object.freeze({ ...h })));
    expect((await limiter.check(frozen)).source).toBe('redis');
    await privateRedis.script('FLUSH');
    await privateRedis.config('RESETSTAT');
    expect(await limiter.check(frozen)).toMatchObject({ allowed: true, source: 'redis' });
    expect(await limiter.check(frozen)).toMatchObject({ allowed: true, source: 'redis' });
    const calls = await commandCalls(privateRedis);
    expect([calls.eval, calls.evalsha]).toEqual([1, 2]);
  });

  it('when Redis refuses kept EVALSHA bytes, then the error names the command with its whole argument list', async () => {
    const encoded = EncodedEvalsha.for(shared)!;
    const slot: EncodedSlot = { encoded: undefined };
    const unknownSha = 'f'.repeat(40);
    const argv = [`${prefix()}:k`, 'x', 'y'];
    const err = await encoded.send(slot, unknownSha, 1, argv).then(() => undefined, (e: unknown) => e);
    expect(String(err)).toMatch(/NOSCRIPT/);
    expect((err as { command?: unknown }).command).toEqual({ name: 'evalsha', args: [unknownSha, '1', ...argv] });
    // The same slot sends the kept bytes again: the same refusal, the same list.
    const again = await encoded.send(slot, unknownSha, 1, argv).then(() => undefined, (e: unknown) => e);
    expect((again as { command?: unknown }).command).toEqual({ name: 'evalsha', args: [unknownSha, '1', ...argv] });
  });

  it('when the script cache is flushed, then the next check falls back to EVAL and later checks use EVALSHA again', async () => {
    const limiter = new RateLimiter({ redis: privateRedis, prefix: 'rl-noscript', policies, timeoutMs: 5_000 });
    expect((await limiter.check(request)).source).toBe('redis');
    await privateRedis.script('FLUSH');
    await privateRedis.config('RESETSTAT');
    const afterFlush = await limiter.check(request);
    expect(afterFlush).toMatchObject({ allowed: true, source: 'redis' });
    const sha = loadScript('check-policies-n').sha;
    expect(await privateRedis.script('EXISTS', sha)).toEqual([1]);
    await limiter.check(request);
    const calls = await commandCalls(privateRedis);
    expect(calls.eval).toBe(1);
    expect(calls.evalsha).toBe(2); // one NOSCRIPT failure, one success
  });

  it('when policies are replaced at runtime, then the next check applies the new limit to the existing counters', async () => {
    const limiter = new RateLimiter({ redis: shared, prefix: prefix(), policies: [{ name: 'api', algorithm: 'fixed-window', limit: 2, windowSeconds: 3600 }], timeoutMs: 5_000 });
    const hit = [{ policy: 'api', subject: 'client' }];
    expect((await limiter.check(hit)).allowed).toBe(true);
    expect((await limiter.check(hit)).allowed).toBe(true);
    expect((await limiter.check(hit)).allowed).toBe(false);
    limiter.setPolicies([{ name: 'api', algorithm: 'fixed-window', limit: 4, windowSeconds: 3600 }]);
    const raised = await limiter.check(hit);
    expect(raised.allowed).toBe(true);
    expect(raised.policies[0]).toMatchObject({ remaining: 1 });
    expect(raised.policies[0]!.policy.policyItem).toBe('"api";q=4;w=3600');
    expect((await limiter.check(hit)).allowed).toBe(true);
    expect((await limiter.check(hit)).allowed).toBe(false);
    limiter.setPolicies([{ name: 'api', algorithm: 'fixed-window', limit: 1, windowSeconds: 3600 }]);
    expect((await limiter.check(hit)).allowed).toBe(false);
  });

  it('when an invalid policy set is given at runtime, then it throws and the old policies stay', async () => {
    const limiter = new RateLimiter({ redis: shared, prefix: prefix(), policies: [{ name: 'api', algorithm: 'fixed-window', limit: 2, windowSeconds: 60 }], timeoutMs: 5_000 });
    expect(() => limiter.setPolicies([{ name: 'api', algorithm: 'fixed-window', limit: 0, windowSeconds: 60 }])).toThrow(/limit must be a positive integer/);
    expect(limiter.getPolicy('api')?.limit).toBe(2);
  });

  it('when a check names an unknown policy, then it throws RATE_LIMIT_POLICY_UNKNOWN', async () => {
    const limiter = new RateLimiter({ redis: shared, prefix: prefix(), policies, timeoutMs: 5_000 });
    await expect(limiter.check([{ policy: 'nope', subject: 'x' }])).rejects.toMatchObject({ code: RATE_LIMIT_POLICY_UNKNOWN });
  });

  it.each<Algorithm>(['token-bucket', 'sliding-window', 'fixed-window'])(
    'when 200 concurrent checks race for a %s limit of 50, then exactly 50 are admitted',
    async (algorithm) => {
      const limiter = new RateLimiter({ redis: shared, prefix: prefix(), policies: [{ name: 'race', algorithm, limit: 50, windowSeconds: 86_400 }], timeoutMs: 5_000 });
      const decisions = await Promise.all(Array.from({ length: 200 }, () => limiter.check([{ policy: 'race', subject: 'hot-key' }])));
      expect(decisions.every((d) => d.source === 'redis')).toBe(true);
      expect(decisions.filter((d) => d.allowed)).toHaveLength(50);
    },
  );

  it('when 200 concurrent multi-policy checks race, then the tightest policy admits exactly its limit and the others count only admitted requests', async () => {
    const p = prefix();
    const limiter = new RateLimiter({
      redis: shared,
      prefix: p,
      timeoutMs: 5_000,
      policies: [
        { name: 'wide', algorithm: 'fixed-window', limit: 1000, windowSeconds: 86_400 },
        { name: 'tight', algorithm: 'token-bucket', limit: 50, windowSeconds: 86_400 },
      ],
    });
    const hits = [{ policy: 'wide', subject: 'w' }, { policy: 'tight', subject: 't' }];
    const decisions = await Promise.all(Array.from({ length: 200 }, () => limiter.check(hits)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(50);
    const wide = await limiter.check([{ policy: 'wide', subject: 'w' }], { scope: 'wide:w' });
    expect(wide.policies[0]!.remaining).toBe(1000 - 50 - 1);
  });
});
