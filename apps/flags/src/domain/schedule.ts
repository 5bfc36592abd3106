/**
 * Scheduled changes: stored pending with the flag, applied by the scheduler
 * at their time as a change by whoever scheduled them (`<actor> (scheduled)`
 * in the audit trail). The scheduler is a round every SCHEDULER_INTERVAL_MS
 * on every replica: it lists due rows (system context), then takes each in
 * its tenant's transaction with SKIP LOCKED, so two replicas never apply the
 * same change and a crash mid-way leaves it pending for the next round.
 */
import { randomUUID } from 'node:crypto';
import { withSystemContext, withTenant, withTransaction } from '@bulwark/db';
import type { Logger } from '@bulwark/service-kit/logging';
import type { AppError } from '@bulwark/errors';
import { flagsError } from '../errors.ts';
import type { ScheduledChangeInput } from '../http/schemas.ts';
import * as store from '../store/experiment-store.ts';
import { findFlag } from '../store/flag-store.ts';
import { applyChangeIn, requireTenant, type FlagsDeps } from './flags.ts';

export async function scheduleChange(deps: FlagsDeps, actor: string, flagKey: string, applyAt: string, change: ScheduledChangeInput): Promise<store.ScheduledChangeRecord> {
  requireTenant();
  const flag = await findFlag(deps.pool, flagKey);
  if (!flag) throw flagsError('FLAGS_FLAG_NOT_FOUND', `no flag ${flagKey}`, { key: flagKey });
  if ('environment' in change && !flag.environments[change.environment]) {
    throw flagsError('FLAGS_UNKNOWN_ENVIRONMENT', `flag ${flagKey} has no environment ${change.environment}`, { environment: change.environment });
  }
  return store.insertScheduledChange(deps.pool, { id: randomUUID(), flagKey, applyAt, change, actor });
}

export async function listScheduled(deps: FlagsDeps, flagKey: string): Promise<store.ScheduledChangeRecord[]> {
  requireTenant();
  return store.listScheduledChanges(deps.pool, flagKey);
}

export async function cancelScheduled(deps: FlagsDeps, id: string): Promise<store.ScheduledChangeRecord> {
  requireTenant();
  const cancelled = await store.cancelScheduledChange(deps.pool, id);
  if (!cancelled) throw flagsError('FLAGS_SCHEDULED_CHANGE_NOT_FOUND', `no pending scheduled change ${id}`);
  return cancelled;
}

/** One scheduler round: applies every due change; returns how many were applied or failed. */
export async function applyDueChanges(deps: FlagsDeps, log: Logger, limit = 100): Promise<number> {
  const due = await withSystemContext(deps.pool, 'flags.scheduler', () => store.takeDueChanges(deps.pool, limit));
  let done = 0;
  for (const item of due) {
    await withTenant(item.tenant, async () => {
      try {
        // Lock, apply and mark in one transaction of the tenant: another replica may have taken it since the listing (then it is skipped), and a crash leaves it pending.
        const applied = await withTransaction(deps.pool, async (tx) => {
          if (!(await store.lockPendingChange(tx, item.id))) return false;
          await applyChangeIn(tx, item.tenant, `${item.actor} (scheduled)`, item.flagKey, item.change as ScheduledChangeInput);
          await store.finishScheduledChange(tx, item.tenant, item.id, 'applied', 'applied');
          return true;
        });
        if (!applied) return;
        deps.metrics.scheduled.inc({ outcome: 'applied' });
        deps.hub.changed(item.tenant);
      } catch (err) {
        // The change no longer fits the flag (e.g. its environment was removed): failed for good, with the reason.
        const reason = (err as AppError).code ?? 'error';
        await store.finishScheduledChange(deps.pool, item.tenant, item.id, 'failed', `${reason}: ${(err as Error).message}`);
        deps.metrics.scheduled.inc({ outcome: 'failed' });
        log.warn({ err, id: item.id, flag: item.flagKey }, 'scheduled flag change failed');
      }
      done++;
    });
  }
  return done;
}
