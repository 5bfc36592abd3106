/**
 * The documents loaded on this instance: a room is created by its first
 * connection, kept DOC_UNLOAD_AFTER_MS after its last one left, then
 * compacted, unsubscribed and dropped. A loaded room re-reads its log when a
 * client joins and every RESYNC_INTERVAL_MS while it has clients.
 */
import type { DbPool } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit/logging';
import type { Bus } from './bus.ts';
import type { CollabMetrics } from './metrics.ts';
import { Room, type Peer } from './room.ts';

export interface Rooms {
  join(tenant: string, documentId: string, peer: Peer): Promise<Room>;
  leave(room: Room, peer: Peer): void;
  /** Re-reads every loaded document from the log (the bus lost messages). */
  reloadAll(): void;
  /** Stores what is queued, compacts and drops every room (drain). */
  close(): Promise<void>;
  readonly size: number;
}

export function createRooms(deps: { pool: DbPool; bus: () => Bus; metrics: CollabMetrics; log: Logger; compactAfterUpdates: number; storeConcurrency: number; unloadAfterMs: number; resyncMs: number }): Rooms {
  const rooms = new Map<string, Room>();
  // Anti-entropy: what a dead peer stored but never published reaches this instance's clients within resyncMs.
  const resync = setInterval(() => {
    for (const room of rooms.values()) if (room.peers.size > 0) room.reload().catch((err: unknown) => deps.log.warn({ err, document: room.id }, 'collab resync failed'));
  }, deps.resyncMs);
  resync.unref();
  const keyOf = (tenant: string, id: string) => `${tenant}/${id}`;

  async function unload(key: string, room: Room): Promise<void> {
    rooms.delete(key);
    deps.metrics.documents.set(rooms.size);
    await room.settle();
    await room.compact();
    await room.destroy();
  }

  return {
    get size() {
      return rooms.size;
    },
    async join(tenant, documentId, peer) {
      const key = keyOf(tenant, documentId);
      let room = rooms.get(key);
      if (!room) {
        room = new Room(tenant, documentId, { pool: deps.pool, bus: deps.bus(), metrics: deps.metrics, log: deps.log, compactAfterUpdates: deps.compactAfterUpdates, storeConcurrency: deps.storeConcurrency });
        rooms.set(key, room);
        deps.metrics.documents.set(rooms.size);
        const created = room;
        created.ready.catch(() => {
          if (rooms.get(key) === created) rooms.delete(key);
          deps.metrics.documents.set(rooms.size);
        });
      }
      clearTimeout(room.unloadTimer);
      const loaded = room.peers.size > 0 || room.unloadTimer !== undefined;
      room.peers.add(peer);
      try {
        await room.ready;
        if (loaded) await room.reload();
      } catch (err) {
        room.peers.delete(peer);
        throw err;
      }
      return room;
    },
    leave(room, peer) {
      room.leave(peer);
      if (room.peers.size > 0) return;
      const key = keyOf(room.tenant, room.id);
      clearTimeout(room.unloadTimer);
      room.unloadTimer = setTimeout(() => {
        if (room.peers.size === 0 && rooms.get(key) === room) void unload(key, room).catch((err: unknown) => deps.log.warn({ err, document: room.id }, 'collab unload failed'));
      }, deps.unloadAfterMs);
      room.unloadTimer.unref();
    },
    reloadAll() {
      for (const room of rooms.values()) room.reload().catch((err: unknown) => deps.log.warn({ err, document: room.id }, 'collab reload failed'));
    },
    async close() {
      clearInterval(resync);
      const all = [...rooms.entries()];
      for (const [, room] of all) clearTimeout(room.unloadTimer);
      await Promise.all(all.map(([key, room]) => unload(key, room).catch((err: unknown) => deps.log.warn({ err, document: room.id }, 'collab unload at drain failed'))));
    },
  };
}
