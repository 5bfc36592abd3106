/**
 * What a CronTask should do with its ticks at one instant, pure: which unmet
 * ticks since the cursor to fire now, which to leave waiting, and which were
 * lost (missed: no leader fired them in time; skipped: the concurrency policy
 * kept them from running). The reconciler turns the plan into claims.
 *
 * The cursor is the newest tick already dealt with (fired, skipped or
 * counted missed, as persisted in status). Everything after it is unmet.
 *
 * - A tick is eligible while `now - tick <= startingDeadlineSeconds`. With no
 *   deadline only the newest unmet tick is eligible (Kubernetes CronJob runs
 *   only the most recent missed schedule as well).
 * - An unmet tick past eligibility is lost. Under Forbid it is "skipped" when
 *   it was held back: the last run ended at or after the tick (`busyUntil`),
 *   so the tick came due while a run was in progress, or a run is active now
 *   and the tick was still eligible when that run started or was taken over
 *   in this term (`activeSince`), or came due later. That holds however late
 *   the reconcile that notices comes (e.g. the run ends just after the next
 *   tick, without a deadline, and the held-back tick is superseded). Every
 *   other lost tick is "missed": no leader fired it in time. That includes
 *   the ticks of a leaderless gap behind a run its dead leader left Running:
 *   the run was executing nowhere, so they were lost to the gap, not to Forbid.
 * - Allow fires every eligible tick. Forbid, when nothing runs, fires every
 *   eligible tick if the executor queues them one behind the other
 *   (`queueBehind`: HTTP targets, so a catch-up after a leader change claims
 *   its backlog at once and calls it in tick order, never two at a time);
 *   otherwise (Jobs) only the oldest, the rest waiting for it to end. While a
 *   run is active Forbid fires nothing. Replace fires the newest eligible
 *   tick, cancelling what runs, and skips older eligible ones.
 */
import { latestTickAtOrBefore, nextScheduleTime, ticksBetween } from './crontask-schedule.ts';

export type ConcurrencyPolicy = 'Allow' | 'Forbid' | 'Replace';

export interface PlanInput {
  schedule: string;
  timeZone: string;
  /** Newest tick already dealt with (or the task's creation time). */
  cursor: Date;
  now: Date;
  startingDeadlineSeconds?: number;
  concurrencyPolicy: ConcurrencyPolicy;
  /** Runs of this task still active (ours and adopted ones). */
  activeRuns: number;
  /** When the task's most recently ended run ended: Forbid held back every tick due up to then. */
  busyUntil?: Date;
  /**
   * When the oldest run active now started or was taken over in this term. Forbid held back the ticks still
   * eligible then and those due later; older lost ticks came due with nothing executing (missed). Unset while
   * runs are active: every lost tick counts as held back.
   */
  activeSince?: Date;
  /** Forbid: the executor runs claimed ticks strictly one after another, so every eligible tick can be claimed at once. */
  queueBehind?: boolean;
}

export interface LostTicks {
  count: number;
  /** Newest lost tick. */
  last?: Date;
  /** The count stopped at the scan cap: at least `count`. */
  capped: boolean;
}

export interface TickPlan {
  /** Ticks to claim and start now, oldest first. */
  fire: Date[];
  /** Eligible ticks left waiting (Forbid while a run is active, or behind the one fired now). */
  waiting: Date[];
  /** Cancel the active runs before firing (Replace). */
  replaceActive: boolean;
  missed: LostTicks;
  skipped: LostTicks;
  /** The first tick after `now`. */
  next: Date;
  /** When to look again: the next tick, or earlier when a waiting tick's deadline passes first. */
  wakeAt: Date;
}

const none = (): LostTicks => ({ count: 0, capped: false });
const lostTicks = (t: { count: number; last?: Date; capped: boolean }): LostTicks => ({ count: t.count, last: t.last, capped: t.capped });

/** Throws ScheduleError for a bad schedule or zone. */
export function planTicks(input: PlanInput): TickPlan {
  const { schedule, timeZone, cursor, now, concurrencyPolicy: policy } = input;
  const next = nextScheduleTime(schedule, timeZone, now);
  const deadlineMs = input.startingDeadlineSeconds === undefined ? undefined : input.startingDeadlineSeconds * 1000;

  let eligible: Date[];
  /** Unmet ticks strictly before this instant are past eligibility (lost). */
  let lostBefore: Date | undefined;
  if (deadlineMs === undefined) {
    const newest = latestTickAtOrBefore(schedule, timeZone, now, cursor);
    eligible = newest ? [newest] : [];
    lostBefore = newest;
  } else {
    // Ticks strictly older than `edge` are past the deadline.
    const edge = new Date(now.getTime() - deadlineMs);
    lostBefore = edge;
    const from = new Date(Math.max(cursor.getTime(), edge.getTime() - 1));
    eligible = ticksBetween(schedule, timeZone, from, new Date(now.getTime() + 1)).ticks;
  }
  const blocked = input.activeRuns > 0 && policy === 'Forbid';
  let missed = none();
  let skipped = none();
  if (lostBefore) ({ missed, skipped } = lostTicksOf(input, lostBefore, blocked, deadlineMs));

  let fire: Date[] = [];
  let waiting: Date[] = [];
  let replaceActive = false;
  if (eligible.length > 0) {
    if (policy === 'Allow') fire = eligible;
    else if (policy === 'Forbid') {
      if (blocked) waiting = eligible;
      else if (input.queueBehind) fire = eligible;
      else [fire, waiting] = [eligible.slice(0, 1), eligible.slice(1)];
    } else {
      const newest = eligible.at(-1) as Date;
      fire = [newest];
      replaceActive = input.activeRuns > 0;
      const superseded = eligible.slice(0, -1);
      if (superseded.length > 0) {
        skipped.count += superseded.length;
        skipped.last = superseded.at(-1);
      }
    }
  }

  let wakeAt = next;
  const oldestWaiting = waiting[0];
  if (oldestWaiting) {
    // With a deadline the wait ends when it passes; without one, when the next tick supersedes it.
    const expires = deadlineMs === undefined ? next : new Date(oldestWaiting.getTime() + deadlineMs + 1);
    if (expires < wakeAt) wakeAt = expires;
  }
  return { fire, waiting, replaceActive, missed, skipped, next, wakeAt };
}

/**
 * Splits the lost ticks (after the cursor, before `lostBefore`) into skipped and missed. In time order:
 * ticks up to `busyUntil` were held back behind the last run (skipped); then, while a run is active, ticks
 * from `heldFrom` (the oldest tick still eligible when it became active in this term) on are held back behind
 * it (skipped); the ticks between came due with nothing executing (missed).
 */
function lostTicksOf(input: PlanInput, lostBefore: Date, blocked: boolean, deadlineMs: number | undefined): { missed: LostTicks; skipped: LostTicks } {
  const { schedule, timeZone, cursor } = input;
  const between = (after: number, before: number): LostTicks => lostTicks(ticksBetween(schedule, timeZone, new Date(after), new Date(before)));
  const lost = lostBefore.getTime();
  const busyUntil = input.concurrencyPolicy === 'Forbid' ? input.busyUntil?.getTime() : undefined;
  const behindLast = busyUntil === undefined ? none() : between(cursor.getTime(), Math.min(lost, busyUntil + 1));
  const afterLast = Math.max(cursor.getTime(), busyUntil ?? Number.NEGATIVE_INFINITY);
  if (!blocked) return { missed: between(afterLast, lost), skipped: behindLast };
  let heldFrom = Number.NEGATIVE_INFINITY;
  if (input.activeSince) {
    const since = input.activeSince;
    heldFrom = deadlineMs === undefined ? (latestTickAtOrBefore(schedule, timeZone, since, cursor) ?? since).getTime() : since.getTime() - deadlineMs;
  }
  const missed = heldFrom > afterLast ? between(afterLast, Math.min(lost, heldFrom)) : none();
  const behindActive = between(Math.max(afterLast, heldFrom - 1), lost);
  const skipped = { count: behindLast.count + behindActive.count, last: behindActive.last ?? behindLast.last, capped: behindLast.capped || behindActive.capped };
  return { missed, skipped };
}
