import { describe, expect, it } from '@jest/globals';
import { isValidTimeZone, nextScheduleTime, ScheduleError } from './crontask-schedule.ts';

const at = (iso: string): Date => new Date(iso);

describe('nextScheduleTime', () => {
  it('when the zone is UTC, then the next run is the next matching UTC minute', () => {
    expect(nextScheduleTime('*/15 * * * *', 'UTC', at('2026-11-22T08:07:30Z')).toISOString()).toBe('2026-11-22T08:15:00.000Z');
  });

  it('when the time is exactly a scheduled instant, then the next run is the following one', () => {
    expect(nextScheduleTime('0 * * * *', 'UTC', at('2026-11-22T08:00:00Z')).toISOString()).toBe('2026-11-22T09:00:00.000Z');
  });

  it('when the zone is Europe/Berlin, then 09:00 local is 08:00Z in winter and 07:00Z in summer', () => {
    expect(nextScheduleTime('0 9 * * *', 'Europe/Berlin', at('2026-01-15T10:00:00Z')).toISOString()).toBe('2026-01-16T08:00:00.000Z');
    expect(nextScheduleTime('0 9 * * *', 'Europe/Berlin', at('2026-07-15T10:00:00Z')).toISOString()).toBe('2026-07-16T07:00:00.000Z');
  });

  it('when the zone is ahead of UTC across midnight, then the local day decides the weekday', () => {
    // Monday 00:30 in Tokyo is Sunday 15:30 UTC.
    expect(nextScheduleTime('30 0 * * 1', 'Asia/Tokyo', at('2026-11-21T00:00:00Z')).toISOString()).toBe('2026-11-22T15:30:00.000Z');
  });

  it('when the daily time falls into the spring-forward gap, then it runs right after the gap that day', () => {
    // 2026-03-08 02:30 does not exist in New York (clocks jump 02:00 → 03:00 EDT = 07:00Z).
    expect(nextScheduleTime('30 2 * * *', 'America/New_York', at('2026-03-08T06:00:00Z')).toISOString()).toBe('2026-03-08T07:30:00.000Z');
  });

  it('when the schedule is not cron, then a ScheduleError names it', () => {
    expect(() => nextScheduleTime('every day', 'UTC', new Date())).toThrow(ScheduleError);
    expect(() => nextScheduleTime('61 * * * *', 'UTC', new Date())).toThrow(/invalid schedule "61 \* \* \* \*"/);
  });

  it('when the zone is unknown or put inside the schedule, then a ScheduleError says so', () => {
    expect(() => nextScheduleTime('* * * * *', 'Mars/Olympus', new Date())).toThrow('unknown time zone "Mars/Olympus"');
    expect(() => nextScheduleTime('TZ=UTC * * * * *', 'UTC', new Date())).toThrow(/spec.timeZone/);
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
  });
});
