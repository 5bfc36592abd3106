/**
 * The dispatcher moves pending rows into BullMQ: deliveries and messages are
 * written to PostgreSQL first (in the transaction of the API call or of the
 * Kafka event), then claimed here (SKIP LOCKED, so replicas share the work)
 * and, after the claim commits, enqueued with their id as idempotency key — a
 * second enqueue of the same row is a no-op, and a claim whose enqueue never
 * happened (crash) is offered again after DISPATCH_STALE_MS. It runs on a poll interval and when poked after a
 * write or a settled delivery (the next one of an ordered endpoint).
 */
import { withTransaction, type DbPool } from '@bulwark/db';
import type { JobQueue } from '@bulwark/jobs';
import type { Logger } from 'pino';
import { claimDispatchableDeliveries } from '../store/deliveries-store.ts';
import { claimDispatchableMessages } from '../store/messages-store.ts';

/** Forgets the claim of rows whose enqueue failed, so the next pass offers them again. */
async function releaseClaims(pool: DbPool, ids: readonly string[]): Promise<void> {
  await pool.query(`UPDATE deliveries SET enqueued_at = NULL WHERE id = ANY ($1::uuid[]) AND status = 'pending'`, [ids]);
  await pool.query(`UPDATE messages SET enqueued_at = NULL WHERE id = ANY ($1::uuid[]) AND status = 'queued'`, [ids]);
}

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

const BATCH = 200;

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
      // Claim and mark in a short transaction, enqueue after commit: a job must never reach a worker
      // while its row is still locked here (the worker's write would wait for this whole batch).
      const claimed = await withTransaction(deps.pool, async (tx) => ({
        deliveries: await claimDispatchableDeliveries(tx, staleMs, BATCH),
        messages: await claimDispatchableMessages(tx, staleMs, BATCH),
      }));
      const outcomes = await Promise.allSettled([
        ...claimed.deliveries.map((id) => deps.webhooks.enqueue('deliver', { deliveryId: id }, { idempotencyKey: `delivery:${id}` }).then(() => undefined)),
        ...claimed.messages.map((m) => deps.messages.enqueue('send', { messageId: m.id }, { idempotencyKey: `message:${m.id}`, provider: m.provider }).then(() => undefined)),
      ]);
      const failed = outcomes.map((o, i) => (o.status === 'rejected' ? i : -1)).filter((i) => i >= 0);
      if (failed.length > 0) {
        // Offer them again on the next pass (a crash right here leaves them to the stale sweep).
        const ids = failed.map((i) => (i < claimed.deliveries.length ? claimed.deliveries[i]! : claimed.messages[i - claimed.deliveries.length]!.id));
        await releaseClaims(deps.pool, ids);
        throw (outcomes[failed[0]!] as PromiseRejectedResult).reason;
      }
      total += claimed.deliveries.length + claimed.messages.length;
      if (claimed.deliveries.length < BATCH && claimed.messages.length < BATCH) return total;
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
