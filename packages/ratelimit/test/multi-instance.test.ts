/**
 * Four separate Node processes (real gateway instances, each with its own
 * limiter and connection) hammer one token-bucket key in the shared Redis.
 * The bucket starts full at the first check (server time T0) and refills at
 * limit/window per ms until the last check (T1), so
 *   admitted ≤ limit + floor((T1 − T0) × limit / window).
 * Each instance reads Redis TIME (the clock the script uses) on its own
 * connection just before its first check and just after its last answer, so
 * the earliest start ≤ T0 and the latest end ≥ T1: the bound spans the burst
 * only, not the processes' boot.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { deletePrefix, redisUrl, testPrefix } from './support/redis.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const prefix = testPrefix();
let redis: Redis;

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

interface InstanceResult {
  admitted: number;
  attempts: number;
  unavailable: number;
  leaseServed: number;
  startedAt: number;
  endedAt: number;
}

/** Server-clock span of the burst over every instance (earliest start to latest end). */
function burstMs(results: InstanceResult[]): number {
  return Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt));
}

function runInstance(env: Record<string, string>): Promise<InstanceResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, 'scripts/run'), ['node', '--conditions=bulwark-source', path.join(here, 'fixtures/hammer.ts')], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`instance exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as InstanceResult);
      } catch (e) {
        reject(new Error(`bad output ${JSON.stringify(out)} ${err}`, { cause: e }));
      }
    });
  });
}

describe('multi-instance correctness', () => {
  it('when 4 processes hammer one token bucket, then total admitted never exceeds the burst plus the refill over the run', async () => {
    const limit = 50;
    const windowSeconds = 2; // 25 tokens/s refill
    const env = {
      REDIS_URL: redisUrl(),
      PREFIX: prefix,
      LIMIT: String(limit),
      WINDOW_SECONDS: String(windowSeconds),
      CONCURRENCY: '8',
      DURATION_MS: '1500',
      START_AT: String(Date.now() + 1500), // after every process has booted
    };
    const results = await Promise.all([1, 2, 3, 4].map(() => runInstance(env)));

    const admitted = results.reduce((sum, r) => sum + r.admitted, 0);
    const bound = limit + Math.floor((burstMs(results) * limit) / (windowSeconds * 1000));
    expect(results.every((r) => r.unavailable === 0 && r.attempts > 0)).toBe(true);
    expect(admitted).toBeGreaterThanOrEqual(limit); // the full bucket was drained by the fleet
    expect(admitted).toBeLessThanOrEqual(bound);
    expect(results.filter((r) => r.admitted > 0).length).toBeGreaterThan(1); // the instances really competed
  });

  it('when 4 processes hammer one leased token bucket, then the fleet admits at most the limit and at least the limit minus one lease per instance', async () => {
    const limit = 400;
    const units = 10;
    const instances = 4;
    const windowSeconds = 86_400; // refill ≈ 0.005 tokens/s: none over the run
    const leasePrefix = `${prefix}-lease`;
    const env = {
      REDIS_URL: redisUrl(),
      PREFIX: leasePrefix,
      LIMIT: String(limit),
      WINDOW_SECONDS: String(windowSeconds),
      LEASE_UNITS: String(units),
      LEASE_TTL_SECONDS: '60',
      CONCURRENCY: '8',
      DURATION_MS: '1500',
      START_AT: String(Date.now() + 1500),
    };
    try {
      const results = await Promise.all(Array.from({ length: instances }, () => runInstance(env)));
      const admitted = results.reduce((sum, r) => sum + r.admitted, 0);
      const refill = Math.floor((burstMs(results) * limit) / (windowSeconds * 1000));
      expect(results.every((r) => r.unavailable === 0 && r.attempts > 0)).toBe(true);
      expect(admitted).toBeLessThanOrEqual(limit + refill);
      expect(admitted).toBeGreaterThanOrEqual(limit - units * instances);
      expect(results.reduce((sum, r) => sum + r.leaseServed, 0)).toBeGreaterThan(0); // leases really served
      // No "every instance admitted" check: with leases one process can drain the quota before a
      // late-booting one starts on a loaded machine. leases.test.ts asserts competition in-process.
    } finally {
      await deletePrefix(redis, leasePrefix);
    }
  });
});
