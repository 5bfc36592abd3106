/**
 * The dispatcher moves pending rows into BullMQ: deliveries and messages are
 * written to PostgreSQL first (in the transaction of the API call or of the
 * Kafka event), then claimed here (SKIP LOCKED, so replicas share the work)
 * and enqueued with their id as idempotency key — a second enqueue of the
 * same row is a no-op. It runs on a poll interval and when poked after a
 * write or a settled delivery (the next one of an ordered endpoint).
 */
import { withTransaction, type DbPool } from '@bulwark/db';
import type { JobQueue } from '@bulwark/jobs';
import type { Logger } from 'pino';
import { claimDispatchableDeliveries } from '../store/deliveries-store.ts';
import { claimDispatchableMessages } from '../store/messages-store.ts';

export interface DeliveryJob {
  deliveryId: string;
}
export interface MessageJob {
  messageId: string;
}

export interface Dispatcher {
  start(): void;
  stop(): Promise<void>;
  /** Dispatch soon (coalesced). */
  poke(): void;
  /** One full pass; returns how many rows were enqueued. */
  dispatchOnce(): Promise<number>;
  readonly running: boolean;
}

const BATCH = 500;

export function createDispatcher(deps: {
  pool: DbPool;
  webhooks: JobQueue<DeliveryJob>;
  messages: JobQueue<MessageJob>;
  intervalMs: number;
  staleMs: number;
  log: Logger;
}): Dispatcher {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let current: Promise<number> | undefined;
  let again = false;

  let lastStaleSweep = 0;

  async function pass(): Promise<number> {
    // Rows enqueued long ago are looked at on the poll only, once per staleMs/10: they matter only after a Redis loss.
    const sweepStale = Date.now() - lastStaleSweep > deps.staleMs / 10;
    if (sweepStale) lastStaleSweep = Date.now();
    const staleMs = sweepStale ? deps.staleMs : undefined;
    let total = 0;
    for (;;) {
      const n = await withTransaction(deps.pool, async (tx) => {
        const deliveries = await claimDispatchableDeliveries(tx, staleMs, BATCH);
        const messages = await claimDispatchableMessages(tx, staleMs, BATCH);
        await Promise.all([
          ...deliveries.map((id) => deps.webhooks.enqueue('deliver', { deliveryId: id }, { idempotencyKey: `delivery:${id}` })),
          ...messages.map((m) => deps.messages.enqueue('send', { messageId: m.id }, { idempotencyKey: `message:${m.id}`, provider: m.provider })),
        ]);
        return { deliveries: deliveries.length, messages: messages.length };
      });
      total += n.deliveries + n.messages;
      if (n.deliveries < BATCH && n.messages < BATCH) return total;
    }
  }

  function dispatchOnce(): Promise<number> {
    if (current) {
      again = true;
      return current;
    }
    current = pass()
      .catch((err: unknown) => {
        deps.log.warn({ err }, 'dispatch pass failed; the next pass retries');
        return 0;
      })
      .finally(() => {
        current = undefined;
        if (again && running) {
          again = false;
          void dispatchOnce();
        }
      });
    return current;
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      void dispatchOnce().finally(schedule);
    }, deps.intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (running) return;
      running = true;
      void dispatchOnce();
      schedule();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await current;
    },
    poke() {
      if (running) void dispatchOnce();
    },
    dispatchOnce,
    get running() {
      return running;
    },
  };
}
