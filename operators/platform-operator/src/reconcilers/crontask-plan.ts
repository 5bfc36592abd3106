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
 *   it was held back: a run of the task is active now, or the last run ended
 *   at or after the tick (`busyUntil`), so the tick came due while a run was
 *   in progress. That holds however late the reconcile that notices comes
 *   (e.g. the run ends just after the next tick, without a deadline, and the
 *   held-back tick is superseded). Only a tick that came due with nothing
 *   running and still was not fired in time is "missed": no leader fired it.
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
  if (lostBefore) {
    // Forbid held back the ticks due while a run was in progress: up to now if one still runs, else up to when the last one ended.
    const heldUntil = blocked ? lostBefore : policy === 'Forbid' && input.busyUntil ? input.busyUntil : undefined;
    if (heldUntil && heldUntil.getTime() > cursor.getTime()) {
      skipped = lostTicks(ticksBetween(schedule, timeZone, cursor, new Date(Math.min(lostBefore.getTime(), heldUntil.getTime() + 1))));
      missed = lostTicks(ticksBetween(schedule, timeZone, heldUntil, lostBefore));
    } else {
      missed = lostTicks(ticksBetween(schedule, timeZone, cursor, lostBefore));
    }
  }

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
