/**
 * Fan-out across instances on Redis pub/sub: one channel per room and one
 * per user (tenant in the name), subscribed while this instance has a
 * connection that wants it (reference counted). Pub/sub keeps nothing: a
 * message published while a subscriber is away is lost to it, which the
 * sequence numbers reveal (a gap, or a resync after the subscriber's
 * reconnection) and PostgreSQL repairs. Why pub/sub over Streams:
 * docs/DECISIONS.md "Chat".
 */
import type { Redis } from 'ioredis';
import type { Logger } from '@bulwark/service-kit';
import type { Publisher, RoomEvent, UserEvent } from '../domain/events.ts';
import type { ChatMetrics } from '../metrics.ts';

export interface Envelope<E> {
  /** Publisher's clock (ms) when it published: the delivery latency histogram's start. */
  at: number;
  event: E;
}

type Listener = (envelope: Envelope<RoomEvent | UserEvent>) => void;

export interface RoomBus extends Publisher {
  /** Subscribes `listener` to the room; resolves once Redis confirmed, with the unsubscribe function. */
  subscribeRoom(tenant: string, room: string, listener: (e: Envelope<RoomEvent>) => void): Promise<() => void>;
  subscribeUser(tenant: string, user: string, listener: (e: Envelope<RoomEvent | UserEvent>) => void): Promise<() => void>;
  /** Called after the subscriber connection came back: anything published meanwhile was missed. */
  onResync(fn: () => void): void;
  close(): Promise<void>;
}

export function createRoomBus(deps: { redis: Redis; prefix: string; metrics: ChatMetrics; log: Logger }): RoomBus {
  const { redis, prefix, metrics, log } = deps;
  const sub = redis.duplicate();
  const listeners = new Map<string, Set<Listener>>();
  /** Channels whose SUBSCRIBE Redis has not confirmed yet: a second listener waits for the same confirmation. */
  const pending = new Map<string, Promise<unknown>>();
  const resyncs: (() => void)[] = [];
  let readyOnce = false;
  sub.on('ready', () => {
    if (readyOnce) for (const fn of resyncs) fn();
    readyOnce = true;
  });
  sub.on('error', (err: unknown) => log.warn({ err }, 'chat bus subscriber error'));
  sub.on('message', (channel: string, data: string) => {
    const set = listeners.get(channel);
    if (!set) return;
    let envelope: Envelope<RoomEvent | UserEvent>;
    try {
      envelope = JSON.parse(data) as Envelope<RoomEvent | UserEvent>;
    } catch (err) {
      log.warn({ err, channel }, 'chat bus: unreadable message dropped');
      return;
    }
    metrics.busReceived.inc();
    for (const fn of set) fn(envelope);
  });

  const roomChannel = (tenant: string, room: string) => `${prefix}:room:${tenant}:${room}`;
  const userChannel = (tenant: string, user: string) => `${prefix}:user:${tenant}:${user}`;

  async function publish(channel: string, event: RoomEvent | UserEvent): Promise<void> {
    try {
      await redis.publish(channel, JSON.stringify({ at: Date.now(), event }));
      metrics.busPublished.inc({ type: event.type });
    } catch (err) {
      // The change is committed; subscribers repair a lost message from the sequence (gap or resync).
      metrics.busPublishFailures.inc();
      log.warn({ err, channel }, 'chat bus publish failed');
    }
  }

  async function subscribe(channel: string, listener: Listener): Promise<() => void> {
    let set = listeners.get(channel);
    if (!set) {
      set = new Set();
      listeners.set(channel, set);
      set.add(listener);
      const confirmed = sub.subscribe(channel).finally(() => pending.delete(channel));
      pending.set(channel, confirmed);
      await confirmed;
    } else {
      set.add(listener);
      await pending.get(channel);
    }
    return () => {
      const current = listeners.get(channel);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) {
        listeners.delete(channel);
        sub.unsubscribe(channel).catch((err: unknown) => log.warn({ err, channel }, 'chat bus unsubscribe failed'));
      }
    };
  }

  return {
    async room(tenant, event) {
      await publish(roomChannel(tenant, event.room), event);
      // A member added or removed hears it on their own channel too (they are not subscribed to the room yet, or any more).
      if (event.type === 'member') await publish(userChannel(tenant, event.user), event);
    },
    user: (tenant, user, event) => publish(userChannel(tenant, user), event),
    subscribeRoom: (tenant, room, listener) => subscribe(roomChannel(tenant, room), listener as Listener),
    subscribeUser: (tenant, user, listener) => subscribe(userChannel(tenant, user), listener),
    onResync: (fn) => void resyncs.push(fn),
    async close() {
      listeners.clear();
      sub.disconnect();
    },
  };
}
