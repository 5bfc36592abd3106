import { describe, expect, it } from '@jest/globals';
import { CRONTASK_FINALIZER, type CronTask, desiredStatus, specOrMetaChanged } from './crontask-resource.ts';

const now = new Date('2026-11-22T08:07:00.000Z');

function task(spec: Partial<CronTask['spec']>, status?: CronTask['status']): CronTask {
  return { metadata: { name: 't', namespace: 'n', generation: 3 }, spec: { schedule: '0 9 * * *', target: { url: 'http://x' }, ...spec }, status };
}

describe('desiredStatus', () => {
  it('when the schedule is valid, then nextScheduleTime is in the task zone and Ready is True for this generation', () => {
    const { status, next } = desiredStatus(task({ timeZone: 'Europe/Berlin' }), now);
    expect(status.nextScheduleTime).toBe('2026-11-23T08:00:00.000Z');
    expect(next?.toISOString()).toBe(status.nextScheduleTime);
    expect(status.observedGeneration).toBe(3);
    expect(status.conditions?.[0]).toEqual(expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Scheduled', observedGeneration: 3 }));
  });

  it('when no zone is given, then UTC is used', () => {
    expect(desiredStatus(task({}), now).status.nextScheduleTime).toBe('2026-11-22T09:00:00.000Z');
  });

  it('when the schedule is invalid, then there is no next time and Ready is False with InvalidSchedule', () => {
    const { status, next, error } = desiredStatus(task({ schedule: 'nope' }, { nextScheduleTime: '2026-01-01T00:00:00Z' }), now);
    expect(next).toBeUndefined();
    expect(status.nextScheduleTime).toBeUndefined();
    expect(error).toMatch(/invalid schedule/);
    expect(status.conditions?.[0]).toEqual(expect.objectContaining({ status: 'False', reason: 'InvalidSchedule' }));
  });

  it('when suspended, then nothing is scheduled and Ready says Suspended', () => {
    const { status, next } = desiredStatus(task({ suspend: true }), now);
    expect(next).toBeUndefined();
    expect(status.conditions?.[0]?.reason).toBe('Suspended');
  });
});

describe('specOrMetaChanged', () => {
  it('when only status, resourceVersion or our own finalizer changed, then no reconcile is needed; spec, labels or deletion need one', () => {
    const before: CronTask = { ...task({}), metadata: { name: 't', namespace: 'n', generation: 3, resourceVersion: '1' } };
    expect(specOrMetaChanged(before, { ...before, metadata: { ...before.metadata, resourceVersion: '2' }, status: { lastScheduleTime: 'x' } })).toBe(false);
    expect(specOrMetaChanged(before, { ...before, metadata: { ...before.metadata, finalizers: [CRONTASK_FINALIZER] } })).toBe(false);
    expect(specOrMetaChanged(before, { ...before, spec: { ...before.spec, schedule: '* * * * *' } })).toBe(true);
    expect(specOrMetaChanged(before, { ...before, metadata: { ...before.metadata, deletionTimestamp: new Date() } })).toBe(true);
    expect(specOrMetaChanged(before, { ...before, metadata: { ...before.metadata, finalizers: ['other'] } })).toBe(true);
  });
});
