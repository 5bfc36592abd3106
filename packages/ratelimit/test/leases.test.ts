/**
 * Quota leases against the shared Redis (and a private redis-server for the
 * fault path): a leased policy admits what exact mode admits for one caller,
 * never more than the limit under concurrency, keeps the all-or-nothing rule
 * across leased and exact policies, expires leases by TTL and window end
 * (controlled clock), uses unexpired leases while Redis is down, and counts
 * granted/expired units. Multi-process leases: multi-instance.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { RateLimiter, stateKey, type Algorithm, type Decision, type Hit, type PolicyConfig, type RateLimiterOptions } from '../src/index.ts';
import { RedisProcess, connect, deletePrefix, redisUrl, testPrefix } from './support/redis.ts';

let redis: Redis;
const prefixes: string[] = [];
beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterEach(async () => {
  for (const p of prefixes.splice(0)) await deletePrefix(redis, p);
});
afterAll(() => redis.disconnect());

const T0 = 1_800_000_000_000; // aligned to 1 s, 1 min and 1 h windows

interface Setup {
  limiter: RateLimiter;
  registry: Registry;
  prefix: string;
  at: (ms: number) => void;
}

function setup(policies: PolicyConfig[], options: Partial<RateLimiterOptions> = {}): Setup {
  const prefix = testPrefix();
  prefixes.push(prefix);
  let now = T0 + 30_000;
  const registry = new Registry();
  const limiter = new RateLimiter({ redis, prefix, policies, registry, clock: () => now, timeoutMs: 5_000, ...options });
  return { limiter, registry, prefix, at: (ms) => void (now = T0 + ms) };
}

async function run(limiter: RateLimiter, hits: Hit[], times: number): Promise<Decision[]> {
  const out: Decision[] = [];
  for (let i = 0; i < times; i++) out.push(await limiter.check(hits));
  return out;
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const text = await registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.startsWith(name) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** The count a fixed-window policy holds in Redis for `subject` (scope = the hit itself). */
async function fixedCount(prefix: string, policy: string, subject: string, scope = `${policy}:${subject}`): Promise<number> {
  return Number((await redis.hget(stateKey(prefix, scope, policy, subject), 'c')) ?? 0);
}

describe('one caller', () => {
  it.each<Algorithm>(['token-bucket', 'sliding-window', 'fixed-window'])(
    'when one caller runs a leased %s policy past its limit, then it admits exactly the limit with the remaining counts of exact mode',
    async (algorithm) => {
      const config = { name: 'api', algorithm, limit: 50, windowSeconds: 3600 };
      const leased = setup([{ ...config, lease: { units: 8, ttlSeconds: 60 } }]);
      const exact = setup([config]);
      const hit = [{ policy: 'api', subject: 'client-1' }];
      const a = await run(leased.limiter, hit, 60);
      const b = await run(exact.limiter, hit, 60);
      expect(a.filter((d) => d.allowed)).toHaveLength(50);
      expect(a.map((d) => d.allowed)).toEqual(b.map((d) => d.allowed));
      expect(a.filter((d) => d.allowed).map((d) => d.policies[0]!.remaining)).toEqual(b.filter((d) => d.allowed).map((d) => d.policies[0]!.remaining));
      // 1 Redis call per 9 requests while the quota lasts, then partial grants, then Redis says no.
      expect(a.filter((d) => d.source === 'lease').length).toBeGreaterThanOrEqual(40);
      expect(a.slice(50).every((d) => d.source === 'redis' && !d.allowed)).toBe(true);
    },
  );

  it('when 200 checks race on one instance, then at most the limit is admitted and at most one lease is left unused', async () => {
    const { limiter } = setup([{ name: 'race', algorithm: 'fixed-window', limit: 50, windowSeconds: 3600, lease: { units: 8, ttlSeconds: 60 } }]);
    const hit = [{ policy: 'race', subject: 'hot-key' }];
    const decisions = await Promise.all(Array.from({ length: 200 }, () => limiter.check(hit)));
    const admitted = decisions.filter((d) => d.allowed).length;
    expect(admitted).toBeLessThanOrEqual(50);
    expect(admitted).toBeGreaterThanOrEqual(50 - 8);
    // The units still leased are this instance's to spend: the total is the limit, exactly.
    const later = await run(limiter, hit, 20);
    expect(admitted + later.filter((d) => d.allowed).length).toBe(50);
  });

  it('when the lease serves a request, then tryLocal answers synchronously and undefined once the lease is empty', async () => {
    const { limiter } = setup([{ name: 'api', algorithm: 'fixed-window', limit: 100, windowSeconds: 60, lease: { units: 3 } }]);
    const hit = [{ policy: 'api', subject: 'c' }];
    expect(limiter.tryLocal(hit)).toBeUndefined(); // nothing leased yet, nothing consumed
    expect((await limiter.check(hit)).source).toBe('redis');
    const local = [limiter.tryLocal(hit), limiter.tryLocal(hit), limiter.tryLocal(hit)];
    expect(local.map((d) => d?.source)).toEqual(['lease', 'lease', 'lease']);
    expect(local.map((d) => d?.policies[0]!.remaining)).toEqual([98, 97, 96]);
    expect(limiter.tryLocal(hit)).toBeUndefined();
    expect(() => limiter.tryLocal(hit, { cost: 0 })).toThrow(/cost must be a positive integer/);
  });
});

describe('one hot key', () => {
  it('when 30 checks of one key arrive together, then they wait for the refill in flight instead of calling Redis each', async () => {
    const { limiter, registry } = setup([{ name: 'hot', algorithm: 'token-bucket', limit: 1_000_000, windowSeconds: 3600, lease: { units: 10, ttlSeconds: 60 } }]);
    const hit = [{ policy: 'hot', subject: 'k' }];
    const decisions = await Promise.all(Array.from({ length: 30 }, () => limiter.check(hit)));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    // 1 Redis call takes 1 + 10; 10 waiters are served, the 11th refills, and so on: 3 calls, 27 lease-served.
    expect(decisions.filter((d) => d.source === 'redis')).toHaveLength(3);
    expect(await metric(registry, 'bulwark_ratelimit_decisions_total', { policy: 'hot', outcome: 'allowed', source: 'lease' })).toBe(27);
  });
});

describe('several instances', () => {
  it('when 4 limiters on separate connections race for one leased key, then all admit some and the total is at most the limit and at least the limit minus one lease each', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const policy = { name: 'shared', algorithm: 'fixed-window' as const, limit: 300, windowSeconds: 3600, lease: { units: 10, ttlSeconds: 60 } };
    const clients = [1, 2, 3, 4].map(() => new Redis(redisUrl()));
    try {
      const now = T0 + 30_000;
      const limiters = clients.map((client) => new RateLimiter({ redis: client, prefix, policies: [policy], clock: () => now, timeoutMs: 5_000 }));
      const hit = [{ policy: 'shared', subject: 'one-key' }];
      const admitted = await Promise.all(
        limiters.map(async (limiter) => {
          let count = 0;
          let rejectedInARow = 0;
          await Promise.all(
            Array.from({ length: 8 }, async () => {
              while (rejectedInARow < 50) {
                const d = await limiter.check(hit);
                if (d.allowed) {
                  count++;
                  rejectedInARow = 0;
                } else {
                  rejectedInARow++;
                }
              }
            }),
          );
          return count;
        }),
      );
      const total = admitted.reduce((a, b) => a + b, 0);
      expect(admitted.every((n) => n > 0)).toBe(true);
      expect(total).toBeLessThanOrEqual(300);
      expect(total).toBeGreaterThanOrEqual(300 - 10 * 4);
      expect(await fixedCount(prefix, 'shared', 'one-key')).toBeLessThanOrEqual(300);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
});

describe('leased and exact policies in one check', () => {
  const policies: PolicyConfig[] = [
    { name: 'leased', algorithm: 'fixed-window', limit: 100, windowSeconds: 3600, lease: { units: 10, ttlSeconds: 60 } },
    { name: 'exact', algorithm: 'fixed-window', limit: 2, windowSeconds: 3600 },
  ];
  const hits = [{ policy: 'leased', subject: 'l' }, { policy: 'exact', subject: 'e' }];
  const scope = 'leased:l';

  it('when the exact policy rejects, then nothing is taken from the leased policy: neither its lease nor its Redis counter', async () => {
    const { limiter, prefix } = setup(policies);
    expect((await limiter.check(hits)).allowed).toBe(true); // leased: 1 + 10 leased in Redis
    expect((await limiter.check(hits)).allowed).toBe(true); // leased: 1 from the lease
    expect(await fixedCount(prefix, 'leased', 'l', scope)).toBe(11);
    for (let i = 0; i < 5; i++) {
      const rejected = await limiter.check(hits);
      expect(rejected.allowed).toBe(false);
      expect(rejected.policies.map((p) => [p.name, p.allowed, p.remaining])).toEqual([['leased', true, 98], ['exact', false, 0]]);
    }
    expect(await fixedCount(prefix, 'leased', 'l', scope)).toBe(11);
    // Still 9 units in the lease: 9 checks served locally, then Redis again.
    const alone = await run(limiter, [{ policy: 'leased', subject: 'l' }], 10);
    expect(alone.map((d) => d.source)).toEqual([...Array<string>(9).fill('lease'), 'redis']);
    expect(alone.map((d) => d.policies[0]!.remaining)).toEqual([97, 96, 95, 94, 93, 92, 91, 90, 89, 88]);
  });

  it('when the leased policy rejects, then nothing is taken from the exact policy', async () => {
    const { limiter, prefix } = setup([
      { name: 'leased', algorithm: 'fixed-window', limit: 5, windowSeconds: 3600, lease: { units: 2, ttlSeconds: 60 } },
      { name: 'exact', algorithm: 'fixed-window', limit: 100, windowSeconds: 3600 },
    ]);
    const admitted = (await run(limiter, hits, 8)).filter((d) => d.allowed).length;
    expect(admitted).toBe(5);
    expect(await fixedCount(prefix, 'exact', 'e', scope)).toBe(5);
    const rejected = await limiter.check(hits);
    expect(rejected.policies.map((p) => [p.name, p.allowed])).toEqual([['leased', false], ['exact', true]]);
    expect(await fixedCount(prefix, 'exact', 'e', scope)).toBe(5);
    expect(await fixedCount(prefix, 'leased', 'l', scope)).toBe(5);
  });
});

describe('lease lifetime', () => {
  it('when the TTL passes, then the lease is dropped, its unused units are counted, and Redis decides again', async () => {
    const { limiter, registry, at } = setup([{ name: 'api', algorithm: 'token-bucket', limit: 100, windowSeconds: 100, lease: { units: 10, ttlSeconds: 1 } }]);
    const hit = [{ policy: 'api', subject: 'c' }];
    at(30_000);
    expect((await limiter.check(hit)).source).toBe('redis');
    at(30_999);
    expect((await limiter.check(hit)).source).toBe('lease');
    at(31_000);
    const after = await limiter.check(hit);
    expect(after.source).toBe('redis');
    expect(await metric(registry, 'bulwark_ratelimit_lease_units_granted_total', { policy: 'api' })).toBe(20);
    expect(await metric(registry, 'bulwark_ratelimit_lease_units_expired_total', { policy: 'api' })).toBe(9);
  });

  it('when a fixed window ends before the TTL, then the lease ends with it and the new window counts from zero', async () => {
    const { limiter, prefix, at } = setup([{ name: 'fw', algorithm: 'fixed-window', limit: 100, windowSeconds: 60, lease: { units: 10, ttlSeconds: 5 } }]);
    const hit = [{ policy: 'fw', subject: 'c' }];
    at(59_800);
    expect((await limiter.check(hit)).source).toBe('redis');
    at(59_998);
    expect((await limiter.check(hit)).source).toBe('lease');
    at(60_000);
    const next = await limiter.check(hit);
    expect(next.source).toBe('redis');
    expect(next.policies[0]!.remaining).toBe(100 - 11 + 10);
    expect(await fixedCount(prefix, 'fw', 'c')).toBe(11);
  });

  it('when a sliding window ends before the TTL, then the lease ends with it', async () => {
    const { limiter, at } = setup([{ name: 'sw', algorithm: 'sliding-window', limit: 100, windowSeconds: 10, lease: { units: 10, ttlSeconds: 1 } }]);
    const hit = [{ policy: 'sw', subject: 'c' }];
    at(9_500);
    expect((await limiter.check(hit)).source).toBe('redis');
    at(9_998);
    expect((await limiter.check(hit)).source).toBe('lease');
    at(10_000);
    expect((await limiter.check(hit)).source).toBe('redis');
  });

  it('when a policy changes at runtime, then its leases are dropped and an unchanged policy keeps its own', async () => {
    const a = { name: 'a', algorithm: 'fixed-window' as const, limit: 100, windowSeconds: 3600, lease: { units: 10, ttlSeconds: 60 } };
    const b = { name: 'b', algorithm: 'fixed-window' as const, limit: 100, windowSeconds: 3600, lease: { units: 10, ttlSeconds: 60 } };
    const { limiter, registry } = setup([a, b]);
    await limiter.check([{ policy: 'a', subject: 'x' }]);
    await limiter.check([{ policy: 'b', subject: 'x' }]);
    limiter.setPolicies([{ ...a, limit: 200 }, { ...b }]);
    expect((await limiter.check([{ policy: 'a', subject: 'x' }])).source).toBe('redis');
    expect((await limiter.check([{ policy: 'b', subject: 'x' }])).source).toBe('lease');
    expect(await metric(registry, 'bulwark_ratelimit_lease_units_expired_total', { policy: 'a' })).toBe(10);
    expect(await metric(registry, 'bulwark_ratelimit_lease_units_expired_total', { policy: 'b' })).toBe(0);
  });
});

describe('bounded lease table', () => {
  it('when more keys are leased than leaseMaxKeys, then the least recently granted are evicted and their units counted unused', async () => {
    const { limiter, registry } = setup([{ name: 'api', algorithm: 'fixed-window', limit: 100, windowSeconds: 3600, lease: { units: 5, ttlSeconds: 60 } }], { leaseMaxKeys: 3 });
    for (let i = 0; i < 5; i++) await limiter.check([{ policy: 'api', subject: `client-${i}` }]);
    expect(limiter.leaseCount).toBe(3);
    expect(await metric(registry, 'bulwark_ratelimit_lease_units_expired_total', { policy: 'api' })).toBe(10);
    expect((await limiter.check([{ policy: 'api', subject: 'client-0' }])).source).toBe('redis'); // evicted
    expect((await limiter.check([{ policy: 'api', subject: 'client-4' }])).source).toBe('lease');
  });
});

describe('metrics', () => {
  it('when requests are served from leases, then decisions count source "lease" and granted units are counted per policy', async () => {
    const { limiter, registry } = setup([{ name: 'api', algorithm: 'fixed-window', limit: 100, windowSeconds: 3600, lease: { units: 4, ttlSeconds: 60 } }]);
    await run(limiter, [{ policy: 'api', subject: 'c' }], 10); // redis, 4 × lease, redis, 4 × lease
    expect(await metric(registry, 'bulwark_ratelimit_decisions_total', { policy: 'api', outcome: 'allowed', source: 'redis' })).toBe(2);
    expect(await metric(registry, 'bulwark_ratelimit_decisions_total', { policy: 'api', outcome: 'allowed', source: 'lease' })).toBe(8);
    expect(await metric(registry, 'bulwark_ratelimit_lease_units_granted_total', { policy: 'api' })).toBe(8);
    expect(await metric(registry, 'bulwark_ratelimit_lease_units_expired_total', { policy: 'api' })).toBe(0);
  });
});

describe('when Redis is down', () => {
  let server: RedisProcess;
  let client: Redis;
  beforeAll(async () => {
    server = await RedisProcess.start();
    client = connect(server.url);
  });
  afterAll(async () => {
    server.resume();
    client.disconnect();
    await server.stop();
  });

  it('when Redis hangs, then unexpired leases still serve, a reservation for a failed call is given back, then the failure mode applies', async () => {
    const options = {
      redis: client,
      prefix: testPrefix(),
      failureMode: 'fail-closed' as const,
      retryIntervalMs: 60_000,
      policies: [
        { name: 'leased', algorithm: 'token-bucket' as const, limit: 40, windowSeconds: 3600, lease: { units: 5, ttlSeconds: 60 } },
        { name: 'exact', algorithm: 'token-bucket' as const, limit: 40, windowSeconds: 3600 },
      ],
    };
    // Connection up and script cached in Redis first, with a patient limiter: the one under test is
    // degraded for retryIntervalMs after one timeout, so its first (leasing) call must not be the one
    // that pays for the connection and the script load on a busy machine.
    expect((await new RateLimiter({ ...options, timeoutMs: 10_000 }).check([{ policy: 'exact', subject: 'warm-up' }])).source).toBe('redis');
    // The timeout only bounds how long the checks against the paused server wait.
    const limiter = new RateLimiter({ ...options, timeoutMs: 500 });
    const leased = [{ policy: 'leased', subject: 'c' }];
    expect((await limiter.check(leased)).source).toBe('redis'); // 5 units leased
    server.pause();
    const mixed = await limiter.check([{ policy: 'leased', subject: 'c' }, { policy: 'exact', subject: 'c' }], { scope: 'leased:c' });
    expect(mixed).toMatchObject({ allowed: false, outcome: 'unavailable' });
    const decisions = await run(limiter, leased, 6);
    expect(decisions.map((d) => d.source)).toEqual(['lease', 'lease', 'lease', 'lease', 'lease', 'none']);
    expect(decisions.at(-1)).toMatchObject({ allowed: false, outcome: 'unavailable' });
    server.resume();
  });
});
