/**
 * The expiry sweeper: releases held reservations past their expiry and
 * deletes expired idempotency keys. Each pass claims a batch with
 * FOR UPDATE SKIP LOCKED in one transaction, gives the units back and marks
 * the rows released, so sweepers on every replica share the work and never
 * release a reservation twice; a confirm or release racing the sweeper holds
 * the row lock, so the sweeper skips that row and the other one wins.
 */
import { trackQueries, UNASSIGNED_TENANT, withSystemContext, withTransaction, type DbPool } from '@bulwark/db';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { adjustStock, claimExpired, markReleased } from '../store/stock-store.ts';
import { recordEvents } from './inventory-events.ts';

export interface ExpirySweeper {
  /** One pass: releases up to one batch; returns how many were released. */
  sweepOnce(): Promise<number>;
  start(): void;
  /** Stops the loop and waits for the running pass. */
  stop(): Promise<void>;
  readonly running: boolean;
}

export interface ExpirySweeperOptions {
  pool: DbPool;
  batchSize: number;
  intervalMs: number;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  released?: Counter<'reason'>;
  onFailure?: () => void;
  /** Extra work per idle tick, e.g. the idempotency key sweep. */
  housekeeping?: () => Promise<unknown>;
}

export function createExpirySweeper(options: ExpirySweeperOptions): ExpirySweeper {
  const { pool, batchSize, intervalMs, log } = options;
  let stopped = true;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  // Every tenant's expired reservations: system work (audited); each event is filed under its reservation's tenant.
  async function sweepOnce(): Promise<number> {
    // One pass is one tracked job (statements, time, N+1).
    return trackQueries('inventory.expiry-sweep', () => withSystemContext(pool, 'inventory.expiry-sweeper', () => withTransaction(pool, async (tx) => {
      const claimed = await claimExpired(tx, batchSize);
      if (claimed.length === 0) return 0;
      const deltas = new Map<string, { onHand: number; reserved: number }>();
      for (const r of claimed) for (const i of r.items) deltas.set(i.sku, { onHand: 0, reserved: (deltas.get(i.sku)?.reserved ?? 0) - i.quantity });
      await adjustStock(tx, deltas);
      await markReleased(tx, claimed.map((r) => r.id), 'expired');
      await recordEvents(
        tx,
        'released',
        claimed.map((r) => ({ reservationId: r.id, orderId: r.orderId, items: r.items, reason: 'expired' as const, restocked: false })),
        claimed.map((r) => r.tenantId ?? UNASSIGNED_TENANT),
      );
      return claimed.length;
    })));
  }

  async function run(): Promise<void> {
    let lastHousekeeping = 0;
    while (!stopped) {
      let released = 0;
      try {
        released = await sweepOnce();
        if (released > 0) {
          options.released?.inc({ reason: 'expired' }, released);
          log.info({ released }, 'expired reservations released');
        }
        if (options.housekeeping && Date.now() - lastHousekeeping > 60_000) {
          lastHousekeeping = Date.now();
          await options.housekeeping();
        }
      } catch (err) {
        options.onFailure?.();
        log.warn({ err }, 'expiry sweep failed; retrying after the interval');
      }
      if (released === batchSize || stopped) continue; // more may be waiting
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs).unref();
      });
      wake = undefined;
    }
  }

  return {
    sweepOnce,
    start() {
      if (!stopped) return;
      stopped = false;
      loop = run();
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
    get running() {
      return !stopped;
    },
  };
}
