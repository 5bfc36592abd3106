/**
 * The orphan authorization reconciler. An authorization can exist at the PSP
 * with no payment row: the authorizing transaction rolled back (PSP timeout,
 * crash) and the client never retried its key. Nobody will capture or void
 * it, and the PSP's webhooks for it are acknowledged and ignored. Each pass
 * lists the PSP's authorized intents, keeps those no payment names, and
 * voids the ones that have stayed unowned for the grace period, recording
 * them (psp_orphan_voids) so a late retry of the key is refused rather than
 * recorded as authorized.
 *
 * One replica runs a pass at a time: the pass holds a transaction-scoped
 * PostgreSQL advisory lock, and a replica that cannot take it skips the
 * pass. The grace period is judged on this process's clock from when the
 * intent was first seen unowned (the PSP's `createdAt` only narrows the list),
 * so clock skew between PSP and payments cannot void a young authorization.
 */
import { withSystemContext, withTransaction, type DbPool } from '@bulwark/db';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { PaymentIntent, PspClient } from '../clients/psp.ts';
import { ownedIntentIds, recordOrphanVoid, tryLockForTransaction } from '../store/orphans-store.ts';

export interface OrphanReconcilerOptions {
  pool: DbPool;
  psp: PspClient;
  /** Advisory lock name; one per payments schema. */
  lockName: string;
  /** How long an authorization must stay unowned before it is voided. */
  graceMs: number;
  /** Intents per PSP list page, and most voids per pass. */
  batchSize: number;
  intervalMs: number;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  voided: Counter;
  passes: Counter<'outcome'>;
  /** Monotonic clock in ms for the grace period (tests); default performance.now. */
  now?: () => number;
  /** Wall clock in ms for the PSP list's `createdBefore` prefilter (tests); default Date.now. */
  wallClock?: () => number;
}

export interface OrphanPass {
  /** False when another replica held the lock and this pass did nothing. */
  ran: boolean;
  /** Unowned authorizations seen, voided or still in their grace period. */
  unowned: number;
  voided: string[];
}

export interface OrphanReconciler {
  reconcileOnce(): Promise<OrphanPass>;
  start(): void;
  stop(): Promise<void>;
}

const MAX_PAGES = 100;

export function createOrphanReconciler(options: OrphanReconcilerOptions): OrphanReconciler {
  const { pool, psp, log } = options;
  const now = options.now ?? (() => performance.now());
  /** Intent id → when a pass of this process first saw it unowned. */
  const firstSeen = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  async function unownedIntents(tx: Parameters<typeof ownedIntentIds>[0]): Promise<PaymentIntent[]> {
    const createdBefore = new Date((options.wallClock ?? Date.now)() - options.graceMs).toISOString();
    const unowned: PaymentIntent[] = [];
    let startingAfter: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const { data, hasMore } = await psp.listIntents({ status: 'authorized', createdBefore, startingAfter, limit: options.batchSize });
      const owned = await ownedIntentIds(tx, data);
      unowned.push(...data.filter((i) => !owned.has(i.id)));
      if (!hasMore || data.length === 0) break;
      startingAfter = data.at(-1)!.id;
    }
    return unowned;
  }

  // Which intents some payment owns is asked across every tenant: system work (audited), one entry per pass.
  function reconcileOnce(): Promise<OrphanPass> {
    return withSystemContext(pool, 'payments.orphan-reconciler', reconcilePass);
  }

  async function reconcilePass(): Promise<OrphanPass> {
    const pass = await withTransaction(pool, async (tx): Promise<OrphanPass> => {
      if (!(await tryLockForTransaction(tx, options.lockName))) return { ran: false, unowned: 0, voided: [] };
      const unowned = await unownedIntents(tx);
      const seen = new Set(unowned.map((i) => i.id));
      for (const id of firstSeen.keys()) if (!seen.has(id)) firstSeen.delete(id); // owned or voided since
      const voided: string[] = [];
      for (const intent of unowned) {
        const first = firstSeen.get(intent.id) ?? now();
        firstSeen.set(intent.id, first);
        if (now() - first < options.graceMs || voided.length >= options.batchSize) continue;
        // The key makes the void idempotent at the PSP, so a pass that dies after it is repeated harmlessly.
        const result = await psp.call({ method: 'POST', path: `/v1/payment_intents/${encodeURIComponent(intent.id)}/void`, key: `payments-orphan-void:${intent.id}`, body: {} }).catch((err: unknown) => err as Error);
        if (result instanceof Error) {
          log.warn({ err: result, intentId: intent.id }, 'voiding an orphan authorization failed; the rest waits for the next pass');
          break; // the PSP is in trouble; keep (commit) what this pass did
        }
        if (!result.ok) {
          // 409: captured or voided since it was listed (by its late owner or by hand): no longer an orphan.
          log[result.status === 409 ? 'info' : 'error']({ intentId: intent.id, status: result.status, code: result.code }, 'the PSP did not void an orphan authorization');
          continue;
        }
        await recordOrphanVoid(tx, intent);
        firstSeen.delete(intent.id);
        voided.push(intent.id);
        options.voided.inc();
        const { paymentId, orderId } = intent.metadata;
        log.warn({ intentId: intent.id, paymentId, orderId, amount: intent.amount, currency: intent.currency, createdAt: intent.createdAt }, 'orphan authorization voided at the PSP');
      }
      return { ran: true, unowned: unowned.length, voided };
    });
    options.passes.inc({ outcome: pass.ran ? 'ran' : 'skipped' });
    return pass;
  }

  function schedule(): void {
    timer = setTimeout(() => {
      running = reconcileOnce()
        .catch((err: unknown) => {
          options.passes.inc({ outcome: 'error' });
          log.warn({ err }, 'orphan authorization pass failed; next pass after the interval');
        })
        .finally(() => {
          running = undefined;
          if (timer) schedule();
        });
    }, options.intervalMs);
    timer.unref();
  }

  return {
    reconcileOnce,
    start() {
      if (!timer) schedule();
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
