/**
 * Orders' events (ORDERS_EVENTS_TOPIC, CloudEvents `com.bulwark.orders.<kind>`)
 * read by this instance alone: a consumer group of its own (prefix + random
 * id), so every instance sees every event (fan-out), starting at the latest
 * offset (what happened before is served from the read model, see
 * order-status-subscription.ts). At-least-once: offsets are committed after
 * an event is handed on; a redelivered event is dropped by its id (the last
 * DEDUPE_WINDOW ids are kept). Only status changes are passed on, to the
 * listeners of that order id.
 */
import { randomUUID } from 'node:crypto';
import { fromKafkaRecord, headersToStrings, rawConsumer, type EventsKafka } from '@bulwark/events';
import { backoffDelay } from '@bulwark/service-kit/backoff';
import type { Logger } from '@bulwark/service-kit/logging';
import { Counter, type Registry } from 'prom-client';

/** One status change of one order, as subscribers receive it. */
export interface OrderStatusChange {
  orderId: string;
  status: string;
  /** The order's version after the change: the cursor a reconnecting client passes back. */
  version: number;
  /** The order's tenant (null for events from before tenants). */
  tenantId: string | null;
  eventId: string;
  occurredAt: string;
}

/** Event kinds that change an order's status, and the status after them (apps/orders domain/order.ts). */
const STATUS_AFTER: Record<string, string> = {
  'com.bulwark.orders.order-created': 'draft',
  'com.bulwark.orders.order-placed': 'placed',
  'com.bulwark.orders.order-confirmed': 'confirmed',
  'com.bulwark.orders.order-shipped': 'shipped',
  'com.bulwark.orders.order-cancelled': 'cancelled',
  'com.bulwark.orders.checkout-failed': 'checkout_failed',
};

const DEDUPE_WINDOW = 10_000;

export interface OrderStatusFeed {
  /** Joins this instance's group; resolves once the consumer runs. */
  start(): Promise<void>;
  /**
   * start() until it succeeds, retrying with backoff in the background (Kafka being away never stops
   * the queries); resolves at the first success or after `waitMs`, whichever comes first.
   */
  startInBackground(waitMs: number): Promise<void>;
  /** The last status change of `orderId` this instance read (the last DEDUPE_WINDOW orders), if any. */
  latest(orderId: string): OrderStatusChange | undefined;
  /** Calls `listener` with each new status change of `orderId`; returns the unsubscribe. */
  listen(orderId: string, listener: (change: OrderStatusChange) => void): () => void;
  stop(): Promise<void>;
}

export interface OrderStatusFeedOptions {
  kafka: EventsKafka;
  topic: string;
  groupPrefix: string;
  registry: Registry;
  log: Logger;
  /** Consumer timings (tests shorten them). */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxWaitTimeMs?: number;
}

/** Decodes one record into a status change; undefined for events that do not change a status. */
export function statusChangeOf(type: string, id: string, time: string, data: unknown): OrderStatusChange | undefined {
  const status = STATUS_AFTER[type];
  if (!status || typeof data !== 'object' || data === null) return undefined;
  const { orderId, version, tenantId } = data as { orderId?: unknown; version?: unknown; tenantId?: unknown };
  if (typeof orderId !== 'string' || typeof version !== 'number') return undefined;
  return { orderId, status, version, tenantId: typeof tenantId === 'string' ? tenantId : null, eventId: id, occurredAt: time };
}

/** Remembers the last `size` ids seen; `add` is false for one already there. */
export function createDedupeWindow(size: number): { add(id: string): boolean } {
  const seen = new Set<string>();
  return {
    add(id) {
      if (seen.has(id)) return false;
      seen.add(id);
      if (seen.size > size) seen.delete(seen.values().next().value!);
      return true;
    },
  };
}

export function createOrderStatusFeed(options: OrderStatusFeedOptions): OrderStatusFeed {
  const { log } = options;
  const group = `${options.groupPrefix}-${randomUUID()}`;
  const consumer = rawConsumer(options.kafka, {
    groupId: group,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
  });
  const listeners = new Map<string, Set<(change: OrderStatusChange) => void>>();
  const dedupe = createDedupeWindow(DEDUPE_WINDOW);
  // Closes the gap between an event read here and the read model projecting it (a subscriber arriving in between).
  const recent = new Map<string, OrderStatusChange>();
  const getOrCreate = <T extends Counter>(name: string, make: () => T): T => (options.registry.getSingleMetric(name) as T | undefined) ?? make();
  const events = getOrCreate('graphql_subscription_events_total', () => new Counter({ name: 'graphql_subscription_events_total', help: "Orders' events read for subscriptions, by outcome (delivered, duplicate, ignored, undecodable).", labelNames: ['outcome'], registers: [options.registry] }));

  let stopped = false;
  const feed: OrderStatusFeed = {
    async startInBackground(waitMs) {
      const running = (async () => {
        for (let attempt = 1; !stopped; attempt++) {
          try {
            await feed.start();
            return;
          } catch (err) {
            const delayMs = backoffDelay(attempt, { baseMs: 500, capMs: 30_000, jitter: 'equal' });
            log.error({ err, attempt, delayMs }, 'order status feed could not join its group; subscriptions get no live changes until it does');
            await consumer.disconnect().catch(() => undefined);
            await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
          }
        }
      })();
      await Promise.race([running, new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
    },
    async start() {
      // Resolve once the group is joined: a fresh group starts at the latest offset, so what follows is seen.
      const joined = new Promise<void>((resolve) => {
        const off = consumer.on(consumer.events.GROUP_JOIN, () => {
          off();
          resolve();
        });
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [options.topic], fromBeginning: false });
      await consumer.run({
        eachMessage: async ({ message }) => {
          let change: OrderStatusChange | undefined;
          try {
            const event = fromKafkaRecord({ key: message.key?.toString('utf8') ?? null, value: message.value, headers: headersToStrings(message.headers) });
            change = statusChangeOf(event.type, event.id, event.time, event.data);
          } catch (err) {
            events.inc({ outcome: 'undecodable' });
            log.warn({ err, offset: message.offset }, 'undecodable order event skipped');
            return;
          }
          if (!change) return void events.inc({ outcome: 'ignored' });
          if (!dedupe.add(change.eventId)) return void events.inc({ outcome: 'duplicate' });
          events.inc({ outcome: 'delivered' });
          const known = recent.get(change.orderId);
          if (!known || known.version < change.version) {
            recent.delete(change.orderId);
            recent.set(change.orderId, change);
            if (recent.size > DEDUPE_WINDOW) recent.delete(recent.keys().next().value!);
          }
          for (const listener of listeners.get(change.orderId) ?? []) listener(change);
        },
      });
      await joined;
      log.info({ group, topic: options.topic }, 'order status feed joined its group');
    },
    latest: (orderId) => recent.get(orderId),
    listen(orderId, listener) {
      let set = listeners.get(orderId);
      if (!set) listeners.set(orderId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(orderId);
      };
    },
    async stop() {
      stopped = true;
      await consumer.disconnect();
    },
  };
  return feed;
}
