/**
 * Rate-limit check throughput and latency: `RateLimiter.check` (3 policies,
 * one Lua call, timeout race, metrics, reply parsing) against the same Lua
 * script called with raw ioredis EVALSHA and precomputed keys/ARGV, both with
 * BENCH_CONCURRENCY (32) concurrent callers on their own connection to the
 * local Redis. Two more variants run the same 3 policies with quota leases of
 * BENCH_LEASE_UNITS (100) units each (most checks served by the instance
 * without Redis): callers on their own keys as above, and all callers on one
 * hot key set (the gateway's shape: one tenant, user and IP). Rounds
 * alternate (limiter, raw, limiter, raw, …) so drift
 * hits all; figures aggregate BENCH_ROUNDS (10) rounds of BENCH_OPS (10 000)
 * ops, and the median of the per-round ratios is printed too (robust to a
 * noisy host). Targets: limiter ≥ 0.8× raw throughput, p99 ≤ 1.25× raw p99.
 * The leased variants run after those rounds, alternating with raw rounds of
 * their own: at ~200k checks/s they leave garbage whose collection would
 * land on whichever round follows them.
 */
import { Redis } from 'ioredis';
import { ensureInfra } from '../scripts/infra/index.ts';
import { RateLimiter, loadScript, type Hit } from '../packages/ratelimit/src/index.ts';
import { deletePrefix } from '@bulwark/test-support';
import { measureClosedLoop, summarize, type Round, type Summary } from './lib/closed-loop.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const OPS = Number(process.env.BENCH_OPS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const LEASE_UNITS = Number(process.env.BENCH_LEASE_UNITS ?? 100);
const PREFIX = `rlbench-${process.pid}`;

const measure = (op: (caller: number) => Promise<unknown>): Promise<Round> => measureClosedLoop((_i, caller) => op(caller), { ops: OPS, concurrency: CONCURRENCY });

export default async function run(): Promise<void> {
  const url = (await ensureInfra(['redis'])).BULWARK_REDIS_URL!;
  const limiterClient = new Redis(url);
  const rawClient = new Redis(url);
  const policies = [
    { name: 'per-tenant', algorithm: 'sliding-window' as const, limit: 1_000_000_000, windowSeconds: 60 },
    { name: 'per-user', algorithm: 'token-bucket' as const, limit: 1_000_000_000, windowSeconds: 60 },
    { name: 'per-ip', algorithm: 'fixed-window' as const, limit: 1_000_000_000, windowSeconds: 60 },
  ];
  const limiter = new RateLimiter({ redis: limiterClient, prefix: `${PREFIX}-lim`, policies, timeoutMs: 1_000 });
  const leasedClient = new Redis(url);
  const leasedPolicies = policies.map((p) => ({ ...p, lease: { units: LEASE_UNITS } }));
  const leasedLimiter = new RateLimiter({ redis: leasedClient, prefix: `${PREFIX}-lease`, policies: leasedPolicies, timeoutMs: 1_000 });
  const hotLimiter = new RateLimiter({ redis: leasedClient, prefix: `${PREFIX}-lease`, policies: leasedPolicies, timeoutMs: 1_000 });
  const hits: Hit[][] = Array.from({ length: CONCURRENCY }, (_, c) => [
    { policy: 'per-tenant', subject: `tenant-${c}` },
    { policy: 'per-user', subject: `user-${c}` },
    { policy: 'per-ip', subject: `10.0.0.${c}` },
  ]);

  const script = loadScript('check-policies-n');
  await script.run(rawClient, 0, ['', '1']); // make sure the script is cached server-side
  const rawArgs: string[][] = hits.map((h, c) => {
    const keys = h.map((x) => `${PREFIX}-raw:{tenant-${c}}:${x.policy}:${x.subject}`);
    const argv = ['', '1', ...policies.flatMap((p) => [p.algorithm === 'token-bucket' ? '1' : p.algorithm === 'sliding-window' ? '2' : '3', String(p.limit), String(p.windowSeconds * 1000)])];
    return [...keys, ...argv];
  });
  const sha = script.sha;

  const ours = (c: number): Promise<unknown> => limiter.check(hits[c]!);
  const raw = (c: number): Promise<unknown> => rawClient.evalsha(sha, 3, rawArgs[c]!);
  const leased = (c: number): Promise<unknown> => leasedLimiter.check(hits[c]!);
  const hotHits: Hit[] = [
    { policy: 'per-tenant', subject: 'tenant-hot' },
    { policy: 'per-user', subject: 'user-hot' },
    { policy: 'per-ip', subject: '10.0.1.1' },
  ];
  const hot = (): Promise<unknown> => hotLimiter.check(hotHits);

  const verify = await limiter.check(hits[0]!);
  if (verify.source !== 'redis' || !verify.allowed) throw new Error(`limiter not healthy: ${JSON.stringify(verify)}`);

  await measure(ours); // warm-up
  await measure(raw);
  const oursRounds: Round[] = [];
  const rawRounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    oursRounds.push(await measure(ours));
    rawRounds.push(await measure(raw));
  }
  const a = summarize(oursRounds);
  const b = summarize(rawRounds);
  const fmt = (x: Summary): string =>
    `${x.opsPerSec.toFixed(0).padStart(8)} ops/s   p50 ${x.p50.toFixed(3)} ms   p99 ${x.p99.toFixed(3)} ms`;
  console.log(`rate-limit check, 3 policies, ${CONCURRENCY} concurrent callers, ${ROUNDS}×${OPS} ops each`);
  console.log(`  RateLimiter.check   ${fmt(a)}`);
  console.log(`  raw EVALSHA         ${fmt(b)}`);
  const throughput = a.opsPerSec / b.opsPerSec;
  const p99 = a.p99 / b.p99;
  const median = (xs: number[]): number => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const perRound = oursRounds.map((o, i) => summarize([o]).opsPerSec / summarize([rawRounds[i]!]).opsPerSec);
  const perRoundP99 = oursRounds.map((o, i) => summarize([o]).p99 / summarize([rawRounds[i]!]).p99);
  console.log(`  per-round median: throughput ${median(perRound).toFixed(3)}×   p99 ${median(perRoundP99).toFixed(3)}×`);
  console.log(`  throughput ratio ${throughput.toFixed(3)}× (target ≥ 0.8)   p99 ratio ${p99.toFixed(3)}× (target ≤ 1.25)   p50 ratio ${(a.p50 / b.p50).toFixed(3)}×`);

  await measure(leased); // warm-up
  await measure(hot);
  const leasedRounds: Round[] = [];
  const hotRounds: Round[] = [];
  const leasedRawRounds: Round[] = [];
  const sourcesBefore = [await decisionsBySource(leasedLimiter), await decisionsBySource(hotLimiter)] as const;
  for (let r = 0; r < ROUNDS; r++) {
    leasedRawRounds.push(await measure(raw));
    leasedRounds.push(await measure(leased));
    hotRounds.push(await measure(hot));
  }
  const sourcesAfter = [await decisionsBySource(leasedLimiter), await decisionsBySource(hotLimiter)] as const;
  const leasedRaw = summarize(leasedRawRounds);
  console.log(`leased variants: same 3 policies, lease ${LEASE_UNITS} units each, same ${CONCURRENCY} callers, rounds alternating with raw EVALSHA`);
  console.log(`  raw EVALSHA         ${fmt(leasedRaw)}`);
  const variants = [['own keys  ', leasedRounds, 0], ['1 hot key ', hotRounds, 1]] as const;
  for (const [label, rounds, v] of variants) {
    const c = summarize([...rounds]);
    const perRoundRatio = rounds.map((o, i) => summarize([o]).opsPerSec / summarize([leasedRawRounds[i]!]).opsPerSec);
    const served = (sourcesAfter[v].lease ?? 0) - (sourcesBefore[v].lease ?? 0);
    const viaRedis = (sourcesAfter[v].redis ?? 0) - (sourcesBefore[v].redis ?? 0);
    console.log(`  leased, ${label} ${fmt(c)}`);
    console.log(
      `    vs raw EVALSHA: throughput ${(c.opsPerSec / leasedRaw.opsPerSec).toFixed(3)}× (per-round median ${median(perRoundRatio).toFixed(3)}×)   p99 ${(c.p99 / leasedRaw.p99).toFixed(3)}×   ` +
        `served from leases ${((100 * served) / Math.max(1, served + viaRedis)).toFixed(1)}% of checks`,
    );
  }

  for (const prefix of [`${PREFIX}-lim`, `${PREFIX}-raw`, `${PREFIX}-lease`]) await deletePrefix(rawClient, `${prefix}:`);
  limiterClient.disconnect();
  rawClient.disconnect();
  leasedClient.disconnect();
}

/** Checks decided per source (policy per-tenant), from the limiter's own metrics registry. */
async function decisionsBySource(limiter: RateLimiter): Promise<Record<string, number>> {
  const metric = await limiter.metrics.decisions.get();
  const out: Record<string, number> = {};
  for (const v of metric.values) if (v.labels.policy === 'per-tenant' && v.labels.outcome === 'allowed') out[String(v.labels.source)] = v.value;
  return out;
}
