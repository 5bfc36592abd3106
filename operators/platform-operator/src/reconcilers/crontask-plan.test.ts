import { describe, expect, it } from '@jest/globals';
import { type PlanInput, planTicks } from './crontask-plan.ts';
import { ScheduleError } from './crontask-schedule.ts';

const at = (iso: string): Date => new Date(iso);
const iso = (dates: Date[]): string[] => dates.map((d) => d.toISOString());

function plan(overrides: Partial<PlanInput>): ReturnType<typeof planTicks> {
  return planTicks({
    schedule: '* * * * * *',
    timeZone: 'UTC',
    cursor: at('2026-05-01T10:00:00Z'),
    now: at('2026-05-01T10:00:00.400Z'),
    startingDeadlineSeconds: 30,
    concurrencyPolicy: 'Forbid',
    activeRuns: 0,
    ...overrides,
  });
}

describe('planTicks', () => {
  it('when no tick is due yet, then nothing fires and it wakes at the next tick', () => {
    const p = plan({});
    expect(p.fire).toEqual([]);
    expect(p.next.toISOString()).toBe('2026-05-01T10:00:01.000Z');
    expect(p.wakeAt).toEqual(p.next);
    expect(p.missed.count).toBe(0);
  });

  it('when the tick is exactly now, then it fires', () => {
    expect(iso(plan({ now: at('2026-05-01T10:00:01Z') }).fire)).toEqual(['2026-05-01T10:00:01.000Z']);
  });

  it('when a new leader finds ticks within the deadline unmet, then Allow fires all of them and older ones are missed', () => {
    const p = plan({ concurrencyPolicy: 'Allow', startingDeadlineSeconds: 2, now: at('2026-05-01T10:00:05.500Z') });
    // 01, 02 and 03 are older than now - 2 s (03.5): missed; 04 and 05 are within.
    expect(iso(p.fire)).toEqual(['2026-05-01T10:00:04.000Z', '2026-05-01T10:00:05.000Z']);
    expect(p.missed).toEqual({ count: 3, last: at('2026-05-01T10:00:03Z'), capped: false });
    expect(p.skipped.count).toBe(0);
  });

  it('when a tick is exactly as old as the deadline, then it is still fired', () => {
    const p = plan({ concurrencyPolicy: 'Allow', startingDeadlineSeconds: 2, now: at('2026-05-01T10:00:03Z') });
    expect(iso(p.fire)).toEqual(['2026-05-01T10:00:01.000Z', '2026-05-01T10:00:02.000Z', '2026-05-01T10:00:03.000Z']);
    expect(p.missed.count).toBe(0);
  });

  it('when Forbid catches up with nothing running, then only the oldest eligible tick fires and the rest wait for it', () => {
    const p = plan({ now: at('2026-05-01T10:00:03.200Z') });
    expect(iso(p.fire)).toEqual(['2026-05-01T10:00:01.000Z']);
    expect(iso(p.waiting)).toEqual(['2026-05-01T10:00:02.000Z', '2026-05-01T10:00:03.000Z']);
    // The waiting ticks' deadline (30 s) is later than the next tick.
    expect(p.wakeAt.toISOString()).toBe('2026-05-01T10:00:04.000Z');
  });

  it('when Forbid catches up and the executor queues runs one behind the other, then every eligible tick is claimed at once', () => {
    const p = plan({ now: at('2026-05-01T10:00:03.200Z'), queueBehind: true });
    expect(iso(p.fire)).toEqual(['2026-05-01T10:00:01.000Z', '2026-05-01T10:00:02.000Z', '2026-05-01T10:00:03.000Z']);
    expect(p.waiting).toEqual([]);
    expect(plan({ now: at('2026-05-01T10:00:03.200Z'), queueBehind: true, activeRuns: 1 }).fire).toEqual([]);
  });

  it('when Forbid finds a run active, then nothing fires, ticks past the deadline count as skipped, and it wakes when the oldest waiting one expires', () => {
    const p = plan({ activeRuns: 1, startingDeadlineSeconds: 0, schedule: '*/10 * * * * *', now: at('2026-05-01T10:00:10Z'), cursor: at('2026-05-01T09:59:40Z') });
    expect(p.fire).toEqual([]);
    expect(iso(p.waiting)).toEqual(['2026-05-01T10:00:10.000Z']);
    expect(p.skipped).toEqual({ count: 2, last: at('2026-05-01T10:00:00Z'), capped: false });
    expect(p.missed.count).toBe(0);
    expect(p.wakeAt.toISOString()).toBe('2026-05-01T10:00:10.001Z');
  });

  it('when Forbid held a tick back behind a run that ended just after the next tick (no deadline), then the held-back tick is skipped, not missed, and the next tick fires', () => {
    // The run of 10:00:00 outlasts its period: 10:00:10 waits behind it; the run ends at 10:00:20.050, just after
    // 10:00:20 superseded 10:00:10, and the reconcile its end triggers sees nothing active any more.
    const p = plan({ schedule: '*/10 * * * * *', startingDeadlineSeconds: undefined, cursor: at('2026-05-01T10:00:00Z'), now: at('2026-05-01T10:00:20.080Z'), busyUntil: at('2026-05-01T10:00:20.050Z') });
    expect(iso(p.fire)).toEqual(['2026-05-01T10:00:20.000Z']);
    expect(p.missed).toEqual({ count: 0, capped: false });
    expect(p.skipped).toEqual({ count: 1, last: at('2026-05-01T10:00:10Z'), capped: false });
    // Before the run ended, the same tick was waiting, not lost.
    const during = plan({ schedule: '*/10 * * * * *', startingDeadlineSeconds: undefined, cursor: at('2026-05-01T10:00:00Z'), now: at('2026-05-01T10:00:10.010Z'), activeRuns: 1 });
    expect(iso(during.waiting)).toEqual(['2026-05-01T10:00:10.000Z']);
    expect([during.missed.count, during.skipped.count]).toEqual([0, 0]);
  });

  it('when Forbid held a tick back until its deadline passed and the run ended before the reconcile, then it is skipped; ticks due after the run ended and never fired are missed', () => {
    const p = plan({ startingDeadlineSeconds: 2, cursor: at('2026-05-01T10:00:00Z'), now: at('2026-05-01T10:00:07.500Z'), busyUntil: at('2026-05-01T10:00:03.200Z') });
    // 01, 02, 03 came due while the run was in progress; 04 and 05 came due after it ended and no leader fired them.
    expect(p.skipped).toEqual({ count: 3, last: at('2026-05-01T10:00:03Z'), capped: false });
    expect(p.missed).toEqual({ count: 2, last: at('2026-05-01T10:00:05Z'), capped: false });
    expect(iso(p.fire)).toEqual(['2026-05-01T10:00:06.000Z']);
    // Allow holds nothing back: the same timing is all missed.
    expect(plan({ concurrencyPolicy: 'Allow', startingDeadlineSeconds: 2, cursor: at('2026-05-01T10:00:00Z'), now: at('2026-05-01T10:00:07.500Z'), busyUntil: at('2026-05-01T10:00:03.200Z') }).missed.count).toBe(5);
  });

  it('when a new leader takes over a run its dead leader left Running, then the ticks of the leaderless gap are missed and only those still eligible at the takeover are held back (skipped)', () => {
    // Every 10 s, deadline 15 s: the leader died during the run of 10:00:00; the next one takes the run over at 10:01:00.1.
    const gap = { schedule: '*/10 * * * * *', startingDeadlineSeconds: 15, cursor: at('2026-05-01T10:00:00Z'), activeRuns: 1, activeSince: at('2026-05-01T10:01:00.100Z') };
    const atTakeover = plan({ ...gap, now: at('2026-05-01T10:01:00.100Z') });
    // 10:00:10 … 10:00:40 are past the deadline: no leader fired them. 10:00:50 and 10:01:00 wait behind the resumed run.
    expect(atTakeover.missed).toEqual({ count: 4, last: at('2026-05-01T10:00:40Z'), capped: false });
    expect(atTakeover.skipped.count).toBe(0);
    expect(iso(atTakeover.waiting)).toEqual(['2026-05-01T10:00:50.000Z', '2026-05-01T10:01:00.000Z']);
    // The resumed run takes a while: the ticks that waited behind it expire, held back by Forbid.
    const later = plan({ ...gap, cursor: at('2026-05-01T10:00:40Z'), now: at('2026-05-01T10:01:20.100Z') });
    expect(later.skipped).toEqual({ count: 2, last: at('2026-05-01T10:01:00Z'), capped: false });
    expect(later.missed.count).toBe(0);
    // Without a deadline only the newest tick at the takeover (10:01:00) was still eligible; it and 10:01:10 were held back.
    const noDeadline = plan({ ...gap, startingDeadlineSeconds: undefined, now: at('2026-05-01T10:01:20.100Z') });
    expect(noDeadline.missed).toEqual({ count: 5, last: at('2026-05-01T10:00:50Z'), capped: false });
    expect(noDeadline.skipped).toEqual({ count: 2, last: at('2026-05-01T10:01:10Z'), capped: false });
  });

  it('when the run active was claimed late (a loaded leader), then the ticks due between its tick and its claim are held back, not missed', () => {
    // A Job target (not queued): 10:00:01 claimed at 10:00:03.5 with 02 and 03 waiting behind it; it still runs when their 2 s deadline passes.
    const p = plan({ startingDeadlineSeconds: 2, cursor: at('2026-05-01T10:00:01Z'), now: at('2026-05-01T10:00:06.500Z'), activeRuns: 1, activeSince: at('2026-05-01T10:00:03.500Z') });
    expect(p.missed.count).toBe(0);
    expect(p.skipped).toEqual({ count: 3, last: at('2026-05-01T10:00:04Z'), capped: false });
    expect(iso(p.waiting)).toEqual(['2026-05-01T10:00:05.000Z', '2026-05-01T10:00:06.000Z']);
  });

  it('when Replace finds several eligible ticks and a run active, then it fires the newest, cancels the active run and skips the older ones', () => {
    const p = plan({ concurrencyPolicy: 'Replace', activeRuns: 1, now: at('2026-05-01T10:00:03.100Z') });
    expect(iso(p.fire)).toEqual(['2026-05-01T10:00:03.000Z']);
    expect(p.replaceActive).toBe(true);
    expect(p.skipped).toEqual({ count: 2, last: at('2026-05-01T10:00:02Z'), capped: false });
  });

  it('when no deadline is set, then only the newest unmet tick is eligible and the older ones are missed', () => {
    const p = plan({ startingDeadlineSeconds: undefined, concurrencyPolicy: 'Allow', now: at('2026-05-01T10:00:04.500Z') });
    expect(iso(p.fire)).toEqual(['2026-05-01T10:00:04.000Z']);
    expect(p.missed).toEqual({ count: 3, last: at('2026-05-01T10:00:03Z'), capped: false });
  });

  it('when the cursor is far behind an every-second schedule, then the missed count stops at the cap but the newest missed tick is exact', () => {
    const p = plan({ concurrencyPolicy: 'Allow', startingDeadlineSeconds: 1, now: at('2026-05-01T11:00:00Z') });
    expect(p.missed.capped).toBe(true);
    expect(p.missed.count).toBe(1000);
    expect(p.missed.last?.toISOString()).toBe('2026-05-01T10:59:58.000Z');
    expect(iso(p.fire)).toEqual(['2026-05-01T10:59:59.000Z', '2026-05-01T11:00:00.000Z']);
  });

  it('when the schedule runs in a zone across a DST change, then unmet ticks follow local time', () => {
    // 2026-03-29 Europe/Berlin springs forward 02:00 → 03:00 (01:00Z): 02:30 does not exist and runs at 03:30 CEST = 01:30Z,
    // as nextScheduleTime does for the New York gap; the day after, 02:30 CEST is 00:30Z.
    const p = plan({
      schedule: '30 2 * * *',
      timeZone: 'Europe/Berlin',
      concurrencyPolicy: 'Allow',
      startingDeadlineSeconds: 7 * 86_400,
      cursor: at('2026-03-27T12:00:00Z'),
      now: at('2026-03-30T12:00:00Z'),
    });
    expect(iso(p.fire)).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  it('when the schedule is invalid, then it throws a ScheduleError', () => {
    expect(() => plan({ schedule: 'every second' })).toThrow(ScheduleError);
    expect(() => plan({ timeZone: 'Nowhere/Atlantis' })).toThrow(ScheduleError);
  });
});
