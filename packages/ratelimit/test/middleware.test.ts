/**
 * The Express 5 middleware over real HTTP: headers in the structured-field
 * syntax of the ratelimit-headers draft, 429 and 503 as problem+json.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { RateLimiter, rateLimit } from '../src/index.ts';
import { eventually } from '@bulwark/test-support';
import { RedisProcess, connect, deletePrefix, redisUrl, testPrefix } from './support/redis.ts';

let redis: Redis;
const prefix = testPrefix();
const servers: Server[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

async function serve(limiter: RateLimiter): Promise<string> {
  const app = express();
  app.set('trust proxy', false);
  app.use(
    rateLimit({
      limiter,
      policies: (req) => [
        { policy: 'per-user', subject: String(req.headers['x-user'] ?? 'anonymous') },
        { policy: 'per-ip', subject: req.ip ?? 'unknown' },
      ],
    }),
  );
  app.get('/orders', (_req, res) => {
    res.json({ ok: true });
  });
  const server = app.listen(0);
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const policies = [
  { name: 'per-user', algorithm: 'fixed-window' as const, limit: 3, windowSeconds: 3600 },
  { name: 'per-ip', algorithm: 'sliding-window' as const, limit: 100, windowSeconds: 60 },
];

describe('rateLimit middleware', () => {
  it('when under the limit, then the response carries RateLimit-Policy and RateLimit as structured-field lists', async () => {
    const base = await serve(new RateLimiter({ redis, prefix, policies }));
    const res = await fetch(`${base}/orders`, { headers: { 'x-user': 'alice' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-policy')).toBe('"per-user";q=3;w=3600, "per-ip";q=100;w=60');
    expect(res.headers.get('ratelimit')).toMatch(/^"per-user";r=2;t=\d+, "per-ip";r=99;t=\d+$/);
    expect(res.headers.get('retry-after')).toBeNull();
  });

  it('when a policy is exhausted, then 429 problem+json with Retry-After and r=0 for that policy', async () => {
    const base = await serve(new RateLimiter({ redis, prefix, policies }));
    for (let i = 0; i < 3; i++) expect((await fetch(`${base}/orders`, { headers: { 'x-user': 'bob' } })).status).toBe(200);
    const res = await fetch(`${base}/orders`, { headers: { 'x-user': 'bob' } });
    expect(res.status).toBe(429);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(res.headers.get('ratelimit')).toMatch(/^"per-user";r=0;t=\d+, "per-ip";r=\d+;t=\d+$/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 429, code: 'RATE_LIMITED', title: 'Too many requests', instance: '/orders', policies: ['per-user'] });
    expect(body.type).toBe('https://bulwark.dev/problems/rate-limited');
  });

  it('when Redis hangs and the limiter fails closed, then 503 problem+json with Retry-After', async () => {
    const server = await RedisProcess.start();
    const client = connect(server.url);
    try {
      const limiter = new RateLimiter({ redis: client, prefix: 'rl', policies, failureMode: 'fail-closed', timeoutMs: 50, retryIntervalMs: 50 });
      const base = await serve(limiter);
      // Healthy first. On a loaded machine the very first call (connect, script load) can outlast 50 ms and
      // fail closed; the limiter recovers on its next probe, so ask until it answers.
      expect(await eventually('a healthy answer', async () => (await fetch(`${base}/orders`)).status, (s) => s === 200, 30_000, 100)).toBe(200);
      server.pause();
      const res = await fetch(`${base}/orders`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toMatchObject({ status: 503, code: 'RATE_LIMIT_UNAVAILABLE' });
    } finally {
      server.resume();
      client.disconnect();
      await server.stop();
    }
  });
});
