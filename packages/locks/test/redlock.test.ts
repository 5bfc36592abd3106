import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, RedisProcess, registryValue, suffix } from '@bulwark/test-support';
import { Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import { LockConfigError, LockLostError, LockNotAcquiredError, Redlock } from '../src/index.ts';
import { connectRedis, startRedisTrio, type RedisTrio } from './support.ts';

let trio: RedisTrio;
beforeAll(async () => {
  trio = await startRedisTrio();
});
afterAll(async () => {
  await trio.close();
});

const redlockOn = (clients: readonly Redis[]): Redlock => new Redlock({ clients, prefix: `test:${suffix()}:` });

describe('Redlock over three Redis instances', () => {
  it('when the lease is held, then a contender is refused, and after release it takes the lease with a larger token', async () => {
    const registry = new Registry();
    const locks = new Redlock({ clients: trio.clients, prefix: `test:${suffix()}:`, registry });
    const first = await locks.acquire('job', { ttlMs: 10_000 });
    expect(first.remainingMs()).toBeGreaterThan(9_000);
    await expect(locks.acquire('job', { ttlMs: 10_000 })).rejects.toBeInstanceOf(LockNotAcquiredError);
    expect(await locks.tryAcquire('job', 10_000)).toBeUndefined();
    expect(await first.release()).toBe(true);
    const second = await locks.acquire('job', { ttlMs: 10_000 });
    expect(second.token).toBeGreaterThan(first.token);
    await second.release();
    expect(await registryValue(registry, 'lock_acquisitions_total', { kind: 'redlock', outcome: 'acquired' })).toBe(2);
    expect(await registryValue(registry, 'lock_acquisitions_total', { kind: 'redlock', outcome: 'busy' })).toBe(2);
    expect(await registryValue(registry, 'lock_lost_total')).toBe(0);
  });

  it('when a lease is not extended, then it expires and a contender takes it; the late holder can neither extend nor release it', async () => {
    const registry = new Registry();
    const locks = new Redlock({ clients: trio.clients, prefix: `test:${suffix()}:`, registry });
    const first = await locks.acquire('expiring', { ttlMs: 200 });
    const second = await eventually('the expired lease to be taken', () => locks.tryAcquire('expiring', 10_000), (l) => l !== undefined);
    expect(second!.token).toBeGreaterThan(first.token);
    expect(first.remainingMs()).toBeLessThanOrEqual(0);
    await expect(first.extend(10_000)).rejects.toBeInstanceOf(LockLostError);
    expect(await first.release()).toBe(false);
    expect(await registryValue(registry, 'lock_lost_total', { kind: 'redlock' })).toBe(1);
    expect(await locks.tryAcquire('expiring', 10_000)).toBeUndefined();
    await second!.release();
  });

  it('when the work under using() outlives the lease, then using() reports the lease as lost', async () => {
    const locks = redlockOn(trio.clients);
    const run = locks.using('overrun', { ttlMs: 100 }, async (lease) => {
      await eventually('the lease to run out', () => lease.remainingMs(), (ms) => ms <= 0);
      await eventually('the key to expire', () => trio.clients[0]!.exists(locks.keys('overrun')[0]), (n) => n === 0);
    });
    await expect(run).rejects.toBeInstanceOf(LockLostError);
  });

  it('when a name holds a brace or a lease is shorter than 10 ms, then it is refused as configuration', async () => {
    const locks = redlockOn(trio.clients);
    await expect(locks.acquire('a{b}', { ttlMs: 1_000 })).rejects.toBeInstanceOf(LockConfigError);
    await expect(locks.acquire('ok', { ttlMs: 5 })).rejects.toBeInstanceOf(LockConfigError);
  });

  it('when the lease is extended, then it outlives its first TTL', async () => {
    const locks = redlockOn(trio.clients);
    const lease = await locks.acquire('extended', { ttlMs: 300 });
    await lease.extend(60_000);
    expect(lease.remainingMs()).toBeGreaterThan(59_000);
    expect(await locks.tryAcquire('extended', 1_000)).toBeUndefined();
    await lease.release();
  });
});

describe('Redlock with one instance of three down', () => {
  it('when one Redis is killed mid-lock, then the lease still holds on the majority, a contender cannot take it, and after release the next token is larger', async () => {
    const servers = await Promise.all([RedisProcess.start(), RedisProcess.start(), RedisProcess.start()]);
    const clients = await Promise.all(servers.map((s) => connectRedis(s.url)));
    try {
      const prefix = `test:${suffix()}:`;
      const registry = new Registry();
      const holder = new Redlock({ clients, prefix, registry });
      const contender = new Redlock({ clients, prefix });
      const lease = await holder.acquire('mid-kill', { ttlMs: 30_000 });

      await servers[0]!.stop();
      await expect(contender.acquire('mid-kill', { ttlMs: 30_000, waitMs: 200 })).rejects.toBeInstanceOf(LockNotAcquiredError);
      await lease.extend(30_000); // two of three still answer
      expect(await registryValue(registry, 'lock_redis_instance_errors_total')).toBeGreaterThanOrEqual(1);
      expect(lease.remainingMs()).toBeGreaterThan(29_000);
      expect(await lease.release()).toBe(true);

      const next = await contender.acquire('mid-kill', { ttlMs: 30_000 });
      expect(next.token).toBeGreaterThan(lease.token);
      await next.release();
    } finally {
      for (const c of clients) c.disconnect();
      await Promise.all(servers.map((s) => s.stop()));
    }
  });

  it('when two of three are down, then nobody gets the lease', async () => {
    const servers = await Promise.all([RedisProcess.start(), RedisProcess.start(), RedisProcess.start()]);
    const clients = await Promise.all(servers.map((s) => connectRedis(s.url)));
    try {
      const locks = redlockOn(clients);
      await servers[0]!.stop();
      await servers[1]!.stop();
      await expect(locks.acquire('minority', { ttlMs: 1_000, waitMs: 100 })).rejects.toThrow(/instances failed to answer/);
    } finally {
      for (const c of clients) c.disconnect();
      await Promise.all(servers.map((s) => s.stop()));
    }
  });

  it('when an instance comes back empty (counter lost), then the next token is still larger, and the token is written back to it', async () => {
    const servers = await Promise.all([RedisProcess.start(), RedisProcess.start(), RedisProcess.start()]);
    const clients = await Promise.all(servers.map((s) => connectRedis(s.url)));
    try {
      const locks = redlockOn(clients);
      let last = 0;
      for (let i = 0; i < 5; i++) {
        const lease = await locks.acquire('restarted', { ttlMs: 10_000 });
        last = lease.token;
        await lease.release();
      }
      const port = servers[2]!.port;
      await servers[2]!.stop();
      servers[2] = await RedisProcess.start(port);
      await eventually('the client to reconnect', () => clients[2]!.status, (s) => s === 'ready');

      const lease = await locks.acquire('restarted', { ttlMs: 10_000 });
      expect(lease.token).toBeGreaterThan(last);
      expect(Number(await clients[2]!.get(locks.keys('restarted')[1]))).toBeGreaterThanOrEqual(lease.token);
      await lease.release();
    } finally {
      for (const c of clients) c.disconnect();
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});
