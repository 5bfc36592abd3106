/**
 * The retention of the event log: every EVENTS_RETENTION_SWEEP_MS, events
 * older than EVENTS_RETENTION_HOURS are deleted in bounded batches (SKIP
 * LOCKED: replicas share the work). Deliveries keep their own payload, so
 * the log's end only bounds what recovery can reach. Every tenant's events:
 * the sweep runs in the system context (`notifications.event-retention`).
 */
import { withSystemContext, type DbPool } from '@bulwark/db';
import type { Logger } from 'pino';
import { deleteExpiredEvents } from '../store/events-store.ts';

const BATCH = 1_000;

export interface EventRetention {
  start(): void;
  stop(): Promise<void>;
  /** One sweep to the end; returns how many events were deleted. */
  sweepOnce(): Promise<number>;
}

export function createEventRetention(deps: { pool: DbPool; retentionMs: number; intervalMs: number; log: Logger; onDeleted?: (n: number) => void }): EventRetention {
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<number> | undefined;

  async function sweepOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await withSystemContext(deps.pool, 'notifications.event-retention', () => deleteExpiredEvents(deps.pool, deps.retentionMs, BATCH));
      total += n;
      if (n > 0) deps.onDeleted?.(n);
      if (n < BATCH) return total;
    }
  }

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => {
        if (pass) return;
        pass = sweepOnce()
          .catch((err: unknown) => {
            deps.log.warn({ err }, 'event retention sweep failed; the next tick retries');
            return 0;
          })
          .finally(() => (pass = undefined));
      }, deps.intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await pass;
    },
    sweepOnce,
  };
}
