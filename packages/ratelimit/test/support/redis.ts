/**
 * Test support: a per-test key prefix on the shared Redis and a client for
 * private servers; the shared server's URL, prefix cleanup and private
 * redis-server processes are test-support's.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export { deletePrefix, RedisProcess, redisUrl } from '@bulwark/test-support';

/** A key prefix unique to one test, e.g. `rltest-3f2a…`. */
export function testPrefix(): string {
  return `rltest-${randomUUID()}`;
}

/** A client that gives up fast, for private servers that tests stop. */
export function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (times) => Math.min(times * 20, 200) });
}
