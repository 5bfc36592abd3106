/**
 * Presence across instances: each connection (a device) has a status in
 * its user's Redis hash and a deadline in one sorted set, renewed by its
 * instance every heartbeat (RENEW_BATCH connections per script call: one
 * call per connection cost an idle instance a round trip each). A user is online if any device is online, away
 * if all are away, offline without one. An instance that dies stops
 * renewing; after PRESENCE_TTL_MS the next sweep (any instance, atomic in
 * Lua, on Redis's clock) removes its connections and reports who went
 * offline. Every change is published to the user's rooms.
 */
import type { Redis } from 'ioredis';
import { loadScript } from '@bulwark/ratelimit';
import type { DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit';
import type { PresenceStatus, Publisher } from '../domain/events.ts';
import type { ChatMetrics } from '../metrics.ts';
import { roomIdsOfEach } from '../store/chat-store.ts';
import { batchByTenant } from './tenant-batch.ts';

const LUA_DIR = new URL('../../src/lua/', import.meta.url);
const setScript = loadScript('presence-set-2', LUA_DIR);
const sweepScript = loadScript('presence-sweep-1', LUA_DIR);
const renewScript = loadScript('presence-renew-1', LUA_DIR);
/** Connections renewed per script call (Redis runs each call alone: a short one keeps others' latency low). */
const RENEW_BATCH = 500;

export interface Device {
  id: string;
  tenant: string;
  user: string;
  status: 'online' | 'away';
}

export interface Presence {
  connect(device: Device): Promise<void>;
  setStatus(device: Device, status: 'online' | 'away'): Promise<void>;
  disconnect(device: Device): Promise<void>;
  /** The status of each user (of one tenant). */
  statusOf(tenant: string, users: readonly string[]): Promise<Map<string, PresenceStatus>>;
  /** Renews this instance's devices and sweeps expired ones (the heartbeat; also called by tests). */
  beat(): Promise<void>;
  close(): void;
}

export function createPresence(deps: { redis: Redis; prefix: string; ttlMs: number; heartbeatMs: number; pool: DbPool; publish: Publisher; metrics: ChatMetrics; log: Logger }): Presence {
  const { redis, ttlMs, pool, publish, metrics, log } = deps;
  /** Rooms of users whose status changed, read together when many change at once (a reconnect storm). */
  const roomsOf = batchByTenant(pool, roomIdsOfEach, [] as string[]);
  const hashPrefix = `${deps.prefix}:presence:`;
  const deadlines = `${deps.prefix}:presence-deadlines`;
  const devices = new Set<Device>();
  const hashKey = (tenant: string, user: string) => `${hashPrefix}${tenant}:${user}`;
  const member = (d: Device) => `${d.id}|${d.tenant}|${d.user}`;

  async function announce(tenant: string, user: string, status: PresenceStatus, cause: string): Promise<void> {
    metrics.presenceChanges.inc({ status, cause });
    const rooms = await roomsOf(tenant, user);
    for (const room of rooms) await publish.room(tenant, { type: 'presence', room, user, status });
  }

  async function set(d: Device, status: 'online' | 'away' | '', cause: string): Promise<void> {
    const [before, after] = (await setScript.run(redis, 2, [hashKey(d.tenant, d.user), deadlines, d.id, status, String(ttlMs), member(d)])) as [PresenceStatus, PresenceStatus];
    if (before !== after) await announce(d.tenant, d.user, after, cause);
  }

  async function announceAll(changed: string[], cause: string): Promise<void> {
    for (let i = 0; i + 2 < changed.length; i += 3) await announce(changed[i]!, changed[i + 1]!, changed[i + 2] as PresenceStatus, cause);
  }

  async function beat(): Promise<void> {
    const all = [...devices];
    for (let i = 0; i < all.length; i += RENEW_BATCH) {
      // Filtered when sent: a device that disconnected meanwhile is not written back after its removal.
      const batch = all.slice(i, i + RENEW_BATCH).filter((d) => devices.has(d));
      if (batch.length === 0) continue;
      await announceAll((await renewScript.run(redis, 1, [deadlines, hashPrefix, String(ttlMs), ...batch.flatMap((d) => [member(d), d.status])])) as string[], 'renewed');
    }
    await announceAll((await sweepScript.run(redis, 1, [deadlines, hashPrefix, '1000'])) as string[], 'expired');
  }

  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    beat()
      .catch((err: unknown) => log.warn({ err }, 'presence heartbeat failed'))
      .finally(() => (running = false));
  }, deps.heartbeatMs);
  timer.unref();

  return {
    async connect(d) {
      devices.add(d);
      await set(d, d.status, 'connect');
    },
    async setStatus(d, status) {
      d.status = status;
      await set(d, status, 'status');
    },
    async disconnect(d) {
      devices.delete(d);
      await set(d, '', 'disconnect');
    },
    async statusOf(tenant, users) {
      const pipeline = redis.pipeline();
      for (const u of users) pipeline.hvals(hashKey(tenant, u));
      const results = (await pipeline.exec()) ?? [];
      const out = new Map<string, PresenceStatus>();
      users.forEach((u, i) => {
        const values = (results[i]?.[1] as string[] | undefined) ?? [];
        out.set(u, values.includes('online') ? 'online' : values.length > 0 ? 'away' : 'offline');
      });
      return out;
    },
    beat,
    close: () => clearInterval(timer),
  };
}
