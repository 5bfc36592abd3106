/**
 * Redis slow or down, with a private redis-server that the tests SIGSTOP
 * (accepts connections, answers nothing), SIGCONT or kill. Assertions are on
 * outcomes: every check settles with the configured failure mode, never hangs.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { Logger } from '@bulwark/service-kit/logging';
import { RateLimiter, type Decision } from '../src/index.ts';
import { RateLimitMetrics } from '../src/metrics.ts';
import { compilePolicy, putCallArgs, putPolicyArgs } from '../src/policy.ts';
import { RedisGuard } from '../src/redis-guard.ts';
import { eventually } from '@bulwark/test-support';
import { RedisProcess, connect } from './support/redis.ts';

let server: RedisProcess;
let redis: Redis;
let registry: Registry;
let logs: { level: string; obj: object; msg: string }[];
const logger: Pick<Logger, 'warn' | 'info'> = {
  warn: (obj, msg = '') => logs.push({ level: 'warn', obj, msg }),
  info: (obj, msg = '') => logs.push({ level: 'info', obj, msg }),
};

beforeEach(async () => {
  server = await RedisProcess.start();
  redis = connect(server.url);
  registry = new Registry();
  logs = [];
  // The connection and the script load are paid by a patient limiter first (own registry, another
  // key), so a busy machine cannot turn a test limiter's first call into a timeout.
  const warm = new RateLimiter({ redis, registry: new Registry(), failureMode: 'fail-closed', policies: [{ name: 'api', algorithm: 'token-bucket', limit: 40, windowSeconds: 3600 }], timeoutMs: 10_000 });
  if ((await warm.check([{ policy: 'api', subject: 'warm-up' }])).source !== 'redis') throw new Error('Redis did not answer the warm-up check');
});
afterEach(async () => {
  server.resume();
  redis.disconnect();
  await server.stop();
});

const hit = [{ policy: 'api', subject: 'client-1' }];

function limiter(failureMode: 'fail-open' | 'fail-closed'): RateLimiter {
  return new RateLimiter({
    redis,
    registry,
    logger,
    failureMode,
    policies: [{ name: 'api', algorithm: 'token-bucket', limit: 40, windowSeconds: 3600 }],
    expectedInstances: 4,
    timeoutMs: 250, // bounds each wait against the paused server; long enough for an answering one on a busy machine
    retryIntervalMs: 30,
  });
}

async function metric(name: string, labels: Record<string, string> = {}, series = name): Promise<number> {
  const text = await registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.startsWith(series) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(' ').pop()) : 0;
}

function untilSource(l: RateLimiter, source: Decision['source']): Promise<Decision> {
  return eventually(`a decision from ${source}`, () => l.check(hit), (d) => d.source === source, 30_000, 10);
}

describe('when Redis hangs (SIGSTOP)', () => {
  it('when the limiter fails open, then checks settle from the local limiter with the limit divided by the instance count', async () => {
    const l = limiter('fail-open');
    expect((await l.check(hit)).source).toBe('redis');
    server.pause();
    const decisions: Decision[] = [];
    for (let i = 0; i < 15; i++) decisions.push(await l.check(hit));
    expect(decisions.every((d) => d.source === 'local')).toBe(true);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10); // floor(40 / 4)
    expect(decisions.at(-1)).toMatchObject({ allowed: false, outcome: 'denied' });
    expect(l.degraded).toBe(true);
    expect(await metric('bulwark_ratelimit_fallback_activations_total', { mode: 'fail-open' })).toBe(1);
    expect(await metric('bulwark_ratelimit_degraded')).toBe(1);
    expect(await metric('bulwark_ratelimit_decisions_total', { policy: 'api', outcome: 'allowed', source: 'local' })).toBe(10);
    expect(logs.filter((l) => l.msg.includes('switching to fail-open'))).toHaveLength(1);
  });

  it('when many checks run concurrently against the hung Redis, then all of them settle', async () => {
    const l = limiter('fail-open');
    await l.check(hit);
    server.pause();
    const decisions = await Promise.all(Array.from({ length: 50 }, () => l.check(hit)));
    expect(decisions.every((d) => d.source === 'local')).toBe(true);
    expect(await metric('bulwark_ratelimit_script_duration_seconds', { result: 'timeout' }, 'bulwark_ratelimit_script_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  });

  it('when the limiter fails closed, then checks settle as unavailable', async () => {
    const l = limiter('fail-closed');
    await l.check(hit);
    server.pause();
    const d = await l.check(hit);
    expect(d).toMatchObject({ allowed: false, outcome: 'unavailable', source: 'none' });
    expect(d.retryAfterMs).toBeGreaterThan(0);
    expect(await metric('bulwark_ratelimit_fallback_activations_total', { mode: 'fail-closed' })).toBe(1);
    expect(await metric('bulwark_ratelimit_decisions_total', { policy: 'api', outcome: 'unavailable', source: 'none' })).toBe(1);
  });

  it('when Redis resumes (SIGCONT), then the limiter recovers by itself and logs it once', async () => {
    const l = limiter('fail-closed');
    await l.check(hit);
    server.pause();
    for (let i = 0; i < 20; i++) expect((await l.check(hit)).outcome).toBe('unavailable');
    server.resume();
    const d = await untilSource(l, 'redis');
    expect(d).toMatchObject({ source: 'redis', allowed: true });
    expect(l.degraded).toBe(false);
    expect(await metric('bulwark_ratelimit_degraded')).toBe(0);
    expect(logs.filter((x) => x.level === 'warn' && x.msg.includes('switching'))).toHaveLength(1);
    expect(logs.filter((x) => x.msg.includes('Redis is back'))).toHaveLength(1);
  });
});

describe('when Redis is gone (killed)', () => {
  it('when the server is killed, then checks settle with the failure mode', async () => {
    const l = limiter('fail-open');
    await l.check(hit);
    await server.stop();
    const d = await l.check(hit);
    expect(d).toMatchObject({ allowed: true, source: 'local' });
    const second = await l.check(hit);
    expect(second.source).toBe('local');
  });
});

describe('deadlines of calls in flight (one timer for all of them)', () => {
  function guard(timeoutMs: number): RedisGuard {
    return new RedisGuard({
      redis,
      timeoutMs,
      failureMode: 'fail-open',
      retryIntervalMs: 30,
      logger,
      logIntervalMs: 1_000,
      metrics: new RateLimitMetrics(registry),
      onDegraded: () => undefined,
    });
  }
  const settle = (p: Promise<unknown>): Promise<{ ok: boolean; value: unknown }> =>
    p.then(
      (value) => ({ ok: true, value }),
      (value: unknown) => ({ ok: false, value }),
    );
  const argv = (): string[] => {
    const args = new Array<string>(6);
    putPolicyArgs(args, 1, 0, '{rl-deadline}:k', compilePolicy({ name: 'api', algorithm: 'token-bucket', limit: 1_000, windowSeconds: 60 }));
    putCallArgs(args, 1, undefined, 1);
    return args;
  };

  it('when Redis hangs, then a call times out at its own deadline, and a call with a later deadline is not cut at it but keeps waiting for its answer', async () => {
    const g = guard(150);
    await g.call(1, argv()); // the script is loaded and the connection is up
    server.pause();
    // The deadline is `started` + 150 ms: the first call's is already near, the second's half a minute away,
    // so however late the sweep runs for the first, the second's deadline has not passed (state, not time).
    let secondSettled = false;
    const first = settle(g.call(1, argv(), undefined, performance.now() - 140));
    const second = settle(g.call(1, argv(), undefined, performance.now() + 30_000)).finally(() => {
      secondSettled = true;
    });
    const a = await first;
    expect(a.ok).toBe(false);
    expect(String(a.value)).toMatch(/did not answer within 150 ms/);
    expect(secondSettled).toBe(false); // not cut at the first call's deadline
    expect(g.watched).toBe(1);
    server.resume();
    const b = await second;
    expect(b.ok).toBe(true); // still waiting when Redis came back, so it got its answer
    expect(Array.isArray(b.value)).toBe(true);
  });

  it('when calls are answered, then none of them is rejected later and the queue empties', async () => {
    const g = guard(100);
    const results = await Promise.all(Array.from({ length: 20 }, () => settle(g.call(1, argv()))));
    expect(results.every((r) => r.ok && Array.isArray(r.value))).toBe(true);
    expect(g.watched).toBeLessThanOrEqual(20);
    // A sentinel whose deadline comes after every answered call's: when it times out, the sweep has
    // passed all of their deadlines, and it must have left the answered calls alone.
    server.pause();
    const sentinel = await settle(g.call(1, argv()));
    server.resume();
    expect(sentinel.ok).toBe(false);
    expect(g.watched).toBe(0);
    const next = await settle(g.call(1, argv()));
    expect(next.ok).toBe(true);
    expect(g.watched).toBe(1); // answered calls leave lazily, when the next call joins the queue
  });
});
