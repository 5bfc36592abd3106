/**
 * The dispatcher keeps rows and the queue in step. Deliveries and messages are
 * written to PostgreSQL first (in the transaction of the API call or of the
 * Kafka event), then claimed here (SKIP LOCKED, so replicas share the work)
 * and, after the claim commits, enqueued with their id as idempotency key — a
 * second enqueue of the same row is a no-op. Reconciliation: a row enqueued
 * longer ago than DISPATCH_STALE_MS is checked against the queue (a missing
 * job is created, a dead-lettered one marks the row dead, so nothing stays
 * pending without a job), counted in notifications_dispatch_reconciled_total.
 * The workers' dead-letter hook marks rows dead at once (a poisoned job never
 * reaches its handler); `release` lets a recovered endpoint's held deliveries
 * go, spaced per endpoint (those in the queue and those the breaker kept out
 * of it alike). It runs on a poll interval and when poked after a
 * write or a settled delivery (the next one of an ordered endpoint).
 * Its passes and dead-letter hooks read and write every tenant's rows: they
 * run in the system context (`notifications.dispatcher`), whoever pokes.
 */
import { withSystemContext, withTransaction, type DbPool } from '@bulwark/db';
import type { DeadLetter, EnsureJobResult, JobQueue } from '@bulwark/jobs';
import type { Logger } from 'pino';
import type { NotificationsMetrics } from '../metrics.ts';
import { claimDispatchableDeliveries, claimEndpointUndispatched, killDelivery, listEnqueuedPending, type ClaimedDelivery } from '../store/deliveries-store.ts';
import { claimDispatchableMessages, markMessageAttemptFailed } from '../store/messages-store.ts';

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
  /** The webhook worker's dead-letter hook: the delivery is dead (poison included), visible and replayable. */
  deliveryDeadLettered(deadLetter: DeadLetter): Promise<void>;
  /** The message worker's dead-letter hook: the message failed. */
  messageDeadLettered(deadLetter: DeadLetter): Promise<void>;
  /**
   * An endpoint recovered (its half-open probe succeeded): its pending
   * deliveries waiting in the queue (held by the breaker or in a backoff) run
   * now, then those the breaker kept out of the queue (an unordered
   * endpoint's; an ordered one's head goes with the next pass), all
   * `releasePerSecond` per second, oldest first. Returns how many were released.
   */
  release(endpointId: string): Promise<number>;
  readonly running: boolean;
}

const BATCH = 200;
/** At most this many deliveries of one endpoint are released at a recovery; the rest wait out their holds (seconds to a cool-down). */
const RELEASE_LIMIT = 10_000;

export const deliveryKey = (id: string): string => `delivery:${id}`;
const messageKey = (id: string): string => `message:${id}`;

/** What a dead-lettered job leaves on its row: reason and final error, so the operator sees why and replays. */
export function deadLetterError(dl: Pick<DeadLetter, 'reason' | 'failedReason'>): string {
  return `dead-lettered (${dl.reason}): ${dl.failedReason}`;
}

export function createDispatcher(deps: {
  pool: DbPool;
  webhooks: JobQueue<DeliveryJob>;
  messages: JobQueue<MessageJob>;
  intervalMs: number;
  staleMs: number;
  log: Logger;
  metrics?: NotificationsMetrics;
  /** Deliveries of one endpoint released per second at its recovery (default 20). */
  releasePerSecond?: number;
}): Dispatcher {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let current: Promise<number> | undefined;
  let again = false;

  let lastStaleSweep = 0;

  /** Every tenant's rows, audited: the claim, the reconciliation and the dead-letter marks. */
  const asSystem = <T>(fn: () => Promise<T>): Promise<T> => withSystemContext(deps.pool, 'notifications.dispatcher', fn);

  function pass(): Promise<number> {
    return asSystem(passInContext);
  }

  async function passInContext(): Promise<number> {
    // Reconciliation of rows enqueued long ago runs on the poll only, once per staleMs/10: a disagreement is rare (Redis loss, a missed dead-letter hook).
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
        ...claimed.deliveries.map((d) => dispatchDelivery(d)),
        ...claimed.messages.map((m) => dispatchMessage(m)),
      ]);
      const failed = outcomes.map((o, i) => (o.status === 'rejected' ? i : -1)).filter((i) => i >= 0);
      if (failed.length > 0) {
        // Offer them again on the next pass (a crash right here leaves them to the stale sweep).
        const ids = failed.map((i) => (i < claimed.deliveries.length ? claimed.deliveries[i]!.id : claimed.messages[i - claimed.deliveries.length]!.id));
        await releaseClaims(deps.pool, ids);
        throw (outcomes[failed[0]!] as PromiseRejectedResult).reason;
      }
      total += claimed.deliveries.length + claimed.messages.length;
      if (claimed.deliveries.length < BATCH && claimed.messages.length < BATCH) return total;
    }
  }

  /** A first dispatch enqueues (after `delayMs`, when released in steps); a stale row (or a key that met a dead letter) is reconciled with the queue. */
  async function dispatchDelivery(d: ClaimedDelivery, delayMs = 0): Promise<void> {
    const opts = { idempotencyKey: deliveryKey(d.id), ...(delayMs > 0 ? { delayMs } : {}) };
    if (!d.stale && !(await deps.webhooks.enqueue('deliver', { deliveryId: d.id }, opts)).deadLettered) return;
    await settleReconcile('delivery', d.id, await deps.webhooks.ensureJob('deliver', { deliveryId: d.id }, opts));
  }

  async function dispatchMessage(m: { id: string; provider: string; stale: boolean }): Promise<void> {
    const opts = { idempotencyKey: messageKey(m.id), provider: m.provider };
    if (!m.stale && !(await deps.messages.enqueue('send', { messageId: m.id }, opts)).deadLettered) return;
    await settleReconcile('message', m.id, await deps.messages.ensureJob('send', { messageId: m.id }, opts));
  }

  async function settleReconcile(kind: 'delivery' | 'message', id: string, result: EnsureJobResult<unknown>): Promise<void> {
    if (result.outcome !== 'dead-lettered') {
      if (result.outcome === 'live') return;
      deps.metrics?.dispatchReconciled.inc({ kind, repair: 'job-created' });
      deps.log.warn({ kind, id }, 'pending row had no job (lost with Redis or never added): job created');
      return;
    }
    if (await markDead(kind, id, result.deadLetter)) {
      deps.metrics?.dispatchReconciled.inc({ kind, repair: 'marked-dead' });
      deps.log.warn({ kind, id, reason: result.deadLetter.reason }, 'pending row whose job was dead-lettered: marked dead (replayable)');
    }
  }

  async function markDead(kind: 'delivery' | 'message', id: string, dl: DeadLetter): Promise<boolean> {
    if (kind === 'message') {
      await markMessageAttemptFailed(deps.pool, id, deadLetterError(dl), true);
      return true;
    }
    return killDelivery(deps.pool, id, deadLetterError(dl));
  }

  async function deliveryDeadLettered(dl: DeadLetter): Promise<void> {
    const { deliveryId } = dl.data as DeliveryJob;
    // Rows the handler settled already (exhausted, non-retryable) stay as they are; a poisoned job's row is still pending.
    if (await asSystem(() => killDelivery(deps.pool, deliveryId, deadLetterError(dl)))) {
      deps.metrics?.deliveryAttempts.inc({ outcome: 'dead' });
      deps.log.warn({ deliveryId, reason: dl.reason, failedReason: dl.failedReason }, 'delivery dead-lettered by the queue: marked dead (replay to send it again)');
      poke();
    }
  }

  async function messageDeadLettered(dl: DeadLetter): Promise<void> {
    await asSystem(() => markMessageAttemptFailed(deps.pool, (dl.data as MessageJob).messageId, deadLetterError(dl), true));
  }

  /** In the system context like a pass, whoever calls it (the probe's handler runs in its tenant's scope). */
  function release(endpointId: string): Promise<number> {
    return asSystem(() => releaseInContext(endpointId));
  }

  async function releaseInContext(endpointId: string): Promise<number> {
    const perSecond = deps.releasePerSecond ?? 20;
    let released = 0;
    // Spaced per endpoint: the n-th runs after floor(n / perSecond) s.
    const delayMs = () => Math.floor(released / perSecond) * 1000;
    try {
      for (const id of await listEnqueuedPending(deps.pool, endpointId, RELEASE_LIMIT)) {
        // A job in flight or waiting is left as it is.
        if (await deps.webhooks.reschedule(deliveryKey(id), delayMs())) released++;
      }
      // Rows the breaker kept out of the queue follow the held ones in the same steps: left to the next pass, they
      // would all be enqueued at once and reach a receiver that has just come back at the workers' full concurrency.
      while (released < RELEASE_LIMIT) {
        const ids = await claimEndpointUndispatched(deps.pool, endpointId, Math.min(BATCH, RELEASE_LIMIT - released));
        for (const [i, id] of ids.entries()) {
          try {
            await dispatchDelivery({ id, stale: false }, delayMs());
          } catch (err) {
            await releaseClaims(deps.pool, ids.slice(i)); // offered again by the next pass
            throw err;
          }
          released++;
        }
        if (ids.length < BATCH) break;
      }
    } finally {
      if (released > 0) deps.metrics?.deliveriesReleased.inc(released);
      poke(); // an ordered endpoint's head, and whatever is left past the limit
    }
    return released;
  }

  function poke(): void {
    if (running) void dispatchOnce();
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
    poke,
    dispatchOnce,
    deliveryDeadLettered,
    messageDeadLettered,
    release,
    get running() {
      return running;
    },
  };
}
