/**
 * Fan-out across instances on Redis pub/sub: one channel per room (tenant
 * in the name), subscribed while this instance has a connection that wants
 * it (reference counted), and one pattern subscription per instance for
 * every user channel, routed in memory (a subscription per connected user
 * cost Redis and this process a channel each; user events are rare). A
 * room event is parsed once per instance and its frame serialized once
 * (frameOf) for every local recipient. Pub/sub keeps nothing: a
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

/** The key user events are routed by (routeUserEvents): tenant and user. */
export const userKey = (tenant: string, user: string): string => `${tenant}:${user}`;

const frames = new WeakMap<object, Buffer>();

/** The event as a WebSocket text frame's payload, serialized once per envelope however many connections get it. */
export function frameOf(envelope: Envelope<RoomEvent | UserEvent>): Buffer {
  let frame = frames.get(envelope);
  if (!frame) {
    frame = Buffer.from(JSON.stringify(envelope.event));
    frames.set(envelope, frame);
  }
  return frame;
}

export interface RoomBus extends Publisher {
  /** Subscribes `listener` to the room; resolves once Redis confirmed, with the unsubscribe function. */
  subscribeRoom(tenant: string, room: string, listener: (e: Envelope<RoomEvent>) => void): Promise<() => void>;
  /** Routes every user channel's event to `route` by userKey (one pattern subscription per instance); resolves once Redis confirmed. Called once. */
  routeUserEvents(route: (key: string, e: Envelope<RoomEvent | UserEvent>) => void): Promise<void>;
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
  const parse = (channel: string, data: string): Envelope<RoomEvent | UserEvent> | undefined => {
    try {
      const envelope = JSON.parse(data) as Envelope<RoomEvent | UserEvent>;
      metrics.busReceived.inc();
      return envelope;
    } catch (err) {
      log.warn({ err, channel }, 'chat bus: unreadable message dropped');
      return undefined;
    }
  };
  sub.on('message', (channel: string, data: string) => {
    const set = listeners.get(channel);
    if (!set) return;
    const envelope = parse(channel, data);
    if (!envelope) return;
    for (const fn of set) fn(envelope);
    // Once per event and instance, after the last local frame was written (the fan-out's slowest recipient here).
    metrics.deliveryLatency.observe(Math.max(0, Date.now() - envelope.at) / 1000);
    metrics.delivered.inc({ type: envelope.event.type }, set.size);
  });

  const roomChannel = (tenant: string, room: string) => `${prefix}:room:${tenant}:${room}`;
  const userPrefix = `${prefix}:user:`;
  const userChannel = (tenant: string, user: string) => `${userPrefix}${userKey(tenant, user)}`;
  let routeUser: ((key: string, e: Envelope<RoomEvent | UserEvent>) => void) | undefined;
  sub.on('pmessage', (_pattern: string, channel: string, data: string) => {
    if (!routeUser || !channel.startsWith(userPrefix)) return;
    const envelope = parse(channel, data);
    if (envelope) routeUser(channel.slice(userPrefix.length), envelope);
  });

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
    async routeUserEvents(route) {
      routeUser = route;
      // Glob characters of the prefix are escaped: only the user part is a wildcard.
      await sub.psubscribe(`${userPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`);
    },
    onResync: (fn) => void resyncs.push(fn),
    async close() {
      listeners.clear();
      sub.disconnect();
    },
  };
}
