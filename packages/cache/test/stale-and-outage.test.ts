/**
 * Serving past freshness and through a Redis outage: stale-while-revalidate
 * answers at once while one refresh runs, stale-if-error answers when the
 * origin fails, and with Redis killed (a private redis-server) lookups keep
 * answering from L1 and the origin, with a metric and a log line, until Redis
 * is back.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { captureLog, RedisProcess, redisUrl, registryValue, waitFor } from '@bulwark/test-support';
import { cacheBed } from './support.ts';

const bed = cacheBed('stale', { ttlMs: 30, jitter: 0, earlyRefreshBeta: 0 });
const { newCache, prefix } = bed;

afterAll(() => bed.close());

describe('stale-while-revalidate', () => {
  it('when an entry is past freshness but within the window, then the old value is served while one refresh brings the new one', async () => {
    const cache = await newCache({ staleWhileRevalidateMs: 60_000 });
    let version = 0;
    const load = async (): Promise<number> => ++version;
    expect(await cache.get('swr', load)).toBe(1);
    const seen: number[] = [];
    await waitFor(async () => {
      seen.push(await cache.get('swr', load));
      return seen.at(-1) !== 1;
    }, 'the refreshed value to replace the stale one');
    expect(await registryValue(cache.registry, 'cache_stale_served_total', { cache: 'stale', reason: 'revalidate' })).toBeGreaterThanOrEqual(1);
    expect(seen.filter((v) => v !== 1 && v !== 2)).toEqual([]); // never waited for a third fill
  });
});

describe('stale in L2', () => {
  it('when another instance finds the entry stale in Redis, then it serves it and refreshes it in the background', async () => {
    const raw = new Redis(redisUrl());
    const a = await newCache({ staleWhileRevalidateMs: 60_000, redis: raw });
    const b = await newCache({ staleWhileRevalidateMs: 60_000 });
    await a.get('l2-stale', async () => 'old');
    await waitFor(async () => (await raw.pttl(`${prefix}:v:l2-stale`)) < 60_000, 'the entry in Redis to be past freshness');
    expect(await b.get('l2-stale', async () => 'new')).toBe('old');
    expect(await registryValue(b.registry, 'cache_stale_served_total', { cache: 'stale', reason: 'revalidate' })).toBe(1);
    await waitFor(async () => (await b.get('l2-stale', async () => 'newer')) === 'new', 'b to serve the refreshed value');
  });
});

describe('refresh and fill together', () => {
  it('when a background refresh is still running and the key is deleted, then the next lookup fills and gets a value of its own', async () => {
    const cache = await newCache({ staleWhileRevalidateMs: 60_000, leaseTtlMs: 200 });
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => (release = r));
    let refreshes = 0;
    await cache.get('busy', async () => 'first');
    await waitFor(async () => {
      await cache.get('busy', async () => {
        refreshes++;
        await slow;
        return 'refreshed';
      });
      return refreshes === 1;
    }, 'a background refresh to start');
    await cache.delete('busy');
    expect(await cache.get('busy', async () => 'filled')).toBe('filled');
    release();
  });
});

describe('stale-if-error', () => {
  it('when the origin fails after the entry went stale, then the stale value is served with a warning instead of the error', async () => {
    const log = captureLog();
    const cache = await newCache({ staleIfErrorMs: 60_000, log });
    expect(await cache.get('sie', async () => 'kept')).toBe('kept');
    const failing = async (): Promise<string> => {
      throw new Error('catalog database down');
    };
    await waitFor(async () => {
      expect(await cache.get('sie', failing)).toBe('kept');
      return (await registryValue(cache.registry, 'cache_stale_served_total', { cache: 'stale', reason: 'error' })) >= 1;
    }, 'the stale value to be served for an origin error');
    expect(log.withMsg('cache: origin failed; serving the stale value')).not.toHaveLength(0);
  });

  it('when the origin fails and nothing is kept, then the caller gets the origin error', async () => {
    const cache = await newCache({ staleIfErrorMs: 60_000 });
    await expect(cache.get('never-filled', async () => Promise.reject(new Error('origin down')))).rejects.toThrow('origin down');
  });
});

describe('Redis outage', () => {
  let server: RedisProcess | undefined;
  afterAll(async () => server?.stop());

  it('when Redis is killed, then lookups answer from L1 and the origin without errors, and when it is back the cache uses it again', async () => {
    server = await RedisProcess.start();
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: (times) => Math.min(times * 20, 200) });
    redis.on('error', () => undefined);
    const log = captureLog();
    const cache = await newCache({ redis, ttlMs: 60_000, redisTimeoutMs: 200, log });
    const up = (): Promise<number> => registryValue(cache.registry, 'cache_l2_up', { cache: 'stale' });

    expect(await cache.get('warm', async () => 'from-origin')).toBe('from-origin');
    await server.stop();

    expect(await cache.get('warm', async () => 'not-called')).toBe('from-origin'); // L1
    expect(await cache.get('cold', async () => 'origin-while-down')).toBe('origin-while-down');
    await cache.set('written-while-down', 1);
    await cache.delete('cold');
    expect(await up()).toBe(0);
    expect(await registryValue(cache.registry, 'cache_l2_errors_total', { cache: 'stale' })).toBeGreaterThanOrEqual(1);
    expect(log.withMsg('cache: Redis (L2) unavailable; serving from L1 and the origin')).toHaveLength(1);

    server = await RedisProcess.start(server.port);
    let n = 0;
    await waitFor(async () => {
      await cache.get(`probe-${n++}`, async () => 'x');
      return (await up()) === 1;
    }, 'the cache to use Redis again');
    expect(log.withMsg('cache: Redis (L2) answers again; L1 cleared')).toHaveLength(1);
    expect(cache.hasLocal('warm')).toBe(false); // invalidations may have been missed while down
    await cache.set('after', { back: true });
    expect(await redis.get(`${prefix}:v:after`)).toContain('"back":true');
  }, 60_000);
});
