/**
 * Rate limiting through @bulwark/ratelimit against real Redis: 429 with
 * headers, four gateway processes sharing one bucket, and a Redis killed under
 * load (failure mode holds, nothing hangs, recovery without restart).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { freePort, waitFor } from '@bulwark/test-support';
import { deletePrefix, RedisProcess, redisUrl, startGateway, startUpstream, type TestGateway, type Upstream } from './support.ts';

let upstream: Upstream;
let shared: Redis;
const prefixes: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  upstream = await startUpstream((_req, res) => res.end('ok'));
  shared = new Redis(redisUrl());
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const p of prefixes.splice(0)) await deletePrefix(shared, p);
});
afterAll(async () => {
  shared.disconnect();
  await upstream.close();
});

function routesWith(policy: object, by: string) {
  return {
    upstreams: { u: { url: upstream.url } },
    rateLimitPolicies: [{ name: 'global', ...policy }],
    routes: [{ id: 'limited', match: { prefix: '/' }, upstream: 'u', rateLimits: [{ policy: 'global', by }] }],
  };
}

/**
 * Tests that count exact admissions wait up to 5 s for Redis: on a loaded machine the 100 ms default
 * hands checks to the fail-open fallback (its own tests are below), which admits what Redis would refuse.
 */
const EXACT_TIMEOUT_MS = '5000';

async function status(url: string): Promise<number> {
  const res = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
  await res.body.dump();
  return res.statusCode;
}

describe('rate limits', () => {
  it('when a policy is leased, then requests are served from the lease (fewer Redis calls) yet never more than the limit, with RateLimit headers, and then 429', async () => {
    const prefix = `gwtest-${randomUUID()}`;
    prefixes.push(prefix);
    const gw = await startGateway(routesWith({ algorithm: 'fixed-window', limit: 6, windowSeconds: 60, lease: { units: 3, ttlSeconds: 30 } }, 'ip'), { REDIS_URL: redisUrl(), RATE_LIMIT_PREFIX: prefix, RATE_LIMIT_TIMEOUT_MS: EXACT_TIMEOUT_MS });
    cleanups.push(() => gw.stop());
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await request(`${gw.url}/x`);
      await res.body.dump();
      statuses.push(res.statusCode);
      remaining.push(String(res.headers.ratelimit ?? ''));
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429]);
    expect(remaining[0]).toMatch(/^"global";r=\d+;t=\d+$/);
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    // Six admissions: two Redis grants (1 + 3 units each), four served from the lease.
    expect(metrics).toMatch(/bulwark_ratelimit_decisions_total\{[^}]*policy="global"[^}]*outcome="allowed"[^}]*source="lease"[^}]*\} 4/);
  });

  it('when a route policy is exhausted, then 429 problem+json with RateLimit headers and Retry-After, and the upstream is not called', async () => {
    const prefix = `gwtest-${randomUUID()}`;
    prefixes.push(prefix);
    const gw = await startGateway(routesWith({ algorithm: 'fixed-window', limit: 3, windowSeconds: 60 }, 'ip'), { REDIS_URL: redisUrl(), RATE_LIMIT_PREFIX: prefix, RATE_LIMIT_TIMEOUT_MS: EXACT_TIMEOUT_MS });
    cleanups.push(() => gw.stop());
    const before = upstream.seen.length;
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push(await status(`${gw.url}/x`));
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const res = await request(`${gw.url}/x`);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['ratelimit-policy']).toBe('"global";q=3;w=60');
    expect(res.headers['ratelimit']).toMatch(/^"global";r=0;t=\d+$/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(((await res.body.json()) as { code: string }).code).toBe('RATE_LIMITED');
    expect(upstream.seen.length - before).toBe(3);
  });

  it('when four gateway processes share one Redis under concurrent load, then exactly the bucket is admitted', async () => {
    const prefix = `gwtest-${randomUUID()}`;
    prefixes.push(prefix);
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-routes-'));
    const routesFile = path.join(dir, 'routes.json');
    const limit = 20;
    // Refill of one token per 72 minutes: none over the run, so the count is exact and the bound reads no clock.
    const windowSeconds = 86_400;
    writeFileSync(routesFile, JSON.stringify(routesWith({ algorithm: 'token-bucket', limit, windowSeconds }, 'route')));
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const urls: string[] = [];
    const children: ChildProcess[] = [];
    cleanups.push(async () => {
      await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : (c.once('exit', resolve), c.kill('SIGTERM'))))));
    });
    // RATE_LIMIT_TIMEOUT_MS: freshly started processes on a loaded machine can miss the 100 ms
    // default and fall back to fail-open, which is the failure-mode test's business, not this one's.
    for (let i = 0; i < 4; i++) {
      const port = await freePort();
      const child = spawn(process.execPath, ['--conditions=bulwark-source', main], {
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', GATEWAY_ROUTES_FILE: routesFile, REDIS_URL: redisUrl(), RATE_LIMIT_PREFIX: prefix, GATEWAY_INSTANCES: '4', RATE_LIMIT_TIMEOUT_MS: '5000' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      urls.push(`http://127.0.0.1:${port}`);
    }
    // Four processes loading TypeScript from source at once take their time on a loaded box: the
    // deadline only bounds a hang, and a process that exited fails the wait at once.
    const ready = async (i: number): Promise<boolean> => {
      if (children[i]!.exitCode !== null) throw new Error(`gateway ${urls[i]} exited with ${children[i]!.exitCode}`);
      return request(`${urls[i]}/readyz`).then((r) => (r.body.dump(), r.statusCode === 200), () => false);
    };
    await Promise.all(urls.map((url, i) => waitFor(() => ready(i), `gateway ${url} ready`, 45_000, 50)));
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => status(`${urls[i % 4]}/x`)));
    expect(results.every((s) => s === 200 || s === 429)).toBe(true);
    expect(results.filter((s) => s === 200)).toHaveLength(limit);
  }, 120_000);
});

describe('Redis failure', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await redis.stop();
  });

  async function degraded(gw: TestGateway): Promise<number> {
    const text = await (await request(`${gw.url}/metrics`)).body.text();
    return Number(/^bulwark_ratelimit_degraded(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN);
  }

  it('when Redis is killed during load with fail-open, then requests keep being answered, none hangs, and limiting recovers when Redis returns', async () => {
    const gw = await startGateway(routesWith({ algorithm: 'token-bucket', limit: 10_000, windowSeconds: 60 }, 'ip'), { REDIS_URL: redis.url, RATE_LIMIT_FAILURE_MODE: 'fail-open', RATE_LIMIT_TIMEOUT_MS: '100' });
    cleanups.push(() => gw.stop());
    const load = async (n: number) => Promise.all(Array.from({ length: n }, () => status(`${gw.url}/x`)));
    expect(new Set(await load(20))).toEqual(new Set([200]));
    const during = load(50);
    await redis.stop();
    const after = await load(50);
    expect([...(await during), ...after].every((s) => s === 200)).toBe(true);
    expect(await degraded(gw)).toBe(1);
    redis = await RedisProcess.start(redis.port);
    for (let attempt = 0; (await degraded(gw)) !== 0; attempt++) {
      if (attempt > 200) throw new Error('limiter did not recover');
      await status(`${gw.url}/x`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const fromRedis = async () => {
      const text = await (await request(`${gw.url}/metrics`)).body.text();
      return text.split('\n').filter((l) => l.startsWith('bulwark_ratelimit_decisions_total') && l.includes('source="redis"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    };
    const before = await fromRedis();
    expect(new Set(await load(10))).toEqual(new Set([200]));
    expect(await fromRedis()).toBe(before + 10); // decided by Redis again, not the local fallback
  });

  it('when Redis is down with fail-closed, then 503 problem+json with Retry-After and the upstream is not called', async () => {
    const dead = await RedisProcess.start();
    const gw = await startGateway(routesWith({ algorithm: 'token-bucket', limit: 100, windowSeconds: 60 }, 'ip'), { REDIS_URL: dead.url, RATE_LIMIT_FAILURE_MODE: 'fail-closed', RATE_LIMIT_TIMEOUT_MS: '100' });
    cleanups.push(() => gw.stop());
    await dead.stop();
    const before = upstream.seen.length;
    const res = await request(`${gw.url}/x`, { headersTimeout: 5000 });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(((await res.body.json()) as { code: string }).code).toBe('RATE_LIMIT_UNAVAILABLE');
    expect(upstream.seen.length).toBe(before);
  });
});
