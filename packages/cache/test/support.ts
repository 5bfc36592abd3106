/**
 * Caches under test on the shared Redis: each file gets its own key prefix;
 * `newCache` opens a Cache (with its own Redis connection unless given one)
 * and `close` closes them all, deletes the prefix and disconnects.
 */
import { Redis } from 'ioredis';
import { deletePrefix, redisUrl, suffix } from '@bulwark/test-support';
import { Cache, type CacheOptions } from '../src/index.ts';

export interface CacheBed {
  prefix: string;
  newCache(options?: Partial<CacheOptions> & { redis?: Redis }): Promise<Cache>;
  close(): Promise<void>;
}

export function cacheBed(name: string, defaults: Partial<CacheOptions> = {}, prefix = `cachetest-${suffix()}`): CacheBed {
  const clients: Redis[] = [];
  const caches: Cache[] = [];
  return {
    prefix,
    async newCache(options = {}) {
      const redis = options.redis ?? new Redis(redisUrl());
      clients.push(redis);
      // A generous Redis timeout: on a loaded CI box 100 ms can pass and the cache would (rightly) skip Redis.
      const cache = new Cache({ name, prefix, redis, redisTimeoutMs: 2_000, ...defaults, ...options });
      await cache.start();
      caches.push(cache);
      return cache;
    },
    async close() {
      for (const c of caches) await c.close();
      await deletePrefix(redisUrl(), prefix);
      for (const r of clients) r.disconnect();
    },
  };
}
