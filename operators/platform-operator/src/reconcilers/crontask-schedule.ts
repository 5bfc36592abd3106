/**
 * Cron arithmetic for CronTask, pure: the next run after a given instant for
 * a schedule read in an IANA time zone. Built on cron-parser (maintained,
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

/** The first scheduled instant strictly after `after`; throws ScheduleError for a bad schedule or zone. */
export function nextScheduleTime(schedule: string, timeZone: string, after: Date): Date {
  if (!isValidTimeZone(timeZone)) throw new ScheduleError(`unknown time zone "${timeZone}"`);
  // Kubernetes rejects TZ= inside the schedule for CronJobs; the zone belongs in spec.timeZone.
  if (/^\s*(CRON_)?TZ=/.test(schedule)) throw new ScheduleError('set the time zone in spec.timeZone, not in the schedule');
  try {
    return CronExpressionParser.parse(schedule, { currentDate: after, tz: timeZone, strict: false }).next().toDate();
  } catch (error) {
    throw new ScheduleError(`invalid schedule "${schedule}": ${error instanceof Error ? error.message : String(error)}`);
  }
}
