/**
 * Cron arithmetic for CronTask, pure: the next run after a given instant, the
 * latest one at or before it, and the ticks in an interval, for a schedule
 * read in an IANA time zone. Built on cron-parser (maintained,
 * zero-dependency besides luxon, handles DST through the tz option).
 * Daylight saving: a local time skipped by a spring-forward gap runs at the
 * first instant after the gap; a repeated hour runs once.
 */
import { CronExpressionParser } from 'cron-parser';

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/** True when `timeZone` is an IANA zone this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

type CronIterator = ReturnType<typeof CronExpressionParser.parse>;

/** Runs `use` on an iterator positioned at `currentDate`; any parser failure becomes a ScheduleError naming the schedule. */
function withSchedule<T>(schedule: string, timeZone: string, currentDate: Date, use: (it: CronIterator) => T): T {
  if (!isValidTimeZone(timeZone)) throw new ScheduleError(`unknown time zone "${timeZone}"`);
  // Kubernetes rejects TZ= inside the schedule for CronJobs; the zone belongs in spec.timeZone.
  if (/^\s*(CRON_)?TZ=/.test(schedule)) throw new ScheduleError('set the time zone in spec.timeZone, not in the schedule');
  try {
    return use(CronExpressionParser.parse(schedule, { currentDate, tz: timeZone, strict: false }));
  } catch (error) {
    throw new ScheduleError(`invalid schedule "${schedule}": ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The first scheduled instant strictly after `after`; throws ScheduleError for a bad schedule or zone. */
export function nextScheduleTime(schedule: string, timeZone: string, after: Date): Date {
  return withSchedule(schedule, timeZone, after, (it) => it.next().toDate());
}

/** The latest scheduled instant at or before `at` if it is strictly after `after`, else undefined. */
export function latestTickAtOrBefore(schedule: string, timeZone: string, at: Date, after: Date): Date | undefined {
  // prev() is strictly before currentDate; ticks are whole seconds, so +1 ms includes `at` itself.
  const tick = withSchedule(schedule, timeZone, new Date(at.getTime() + 1), (it) => it.prev().toDate());
  return tick.getTime() > after.getTime() ? tick : undefined;
}

/**
 * Scheduled instants in the open interval (after, before), oldest first,
 * listing at most `limit` of them: a cron-parser step costs ~50 µs, so a long
 * outage of an every-second schedule is counted up to the cap rather than
 * walked to the end. `count` is exact unless `capped`; `last` is always the
 * newest tick in the interval.
 */
export function ticksBetween(
  schedule: string,
  timeZone: string,
  after: Date,
  before: Date,
  limit = 1000,
): { ticks: Date[]; count: number; last?: Date; capped: boolean } {
  const ticks: Date[] = [];
  if (before.getTime() <= after.getTime()) return { ticks, count: 0, capped: false };
  return withSchedule(schedule, timeZone, after, (it) => {
    while (ticks.length < limit) {
      const tick = it.next().toDate();
      if (tick.getTime() >= before.getTime()) return { ticks, count: ticks.length, last: ticks.at(-1), capped: false };
      ticks.push(tick);
    }
    const last = withSchedule(schedule, timeZone, before, (back) => back.prev().toDate());
    return { ticks, count: ticks.length, last, capped: true };
  });
}
