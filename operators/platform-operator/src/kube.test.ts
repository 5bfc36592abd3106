import { describe, expect, it } from '@jest/globals';
import { setCondition } from './kube.ts';

const t0 = new Date('2026-11-22T08:00:00.000Z');
const t1 = new Date('2026-11-22T09:00:00.000Z');

describe('setCondition', () => {
  it('when a condition type is new, then it is appended with the current time', () => {
    expect(setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Scheduled', message: 'ok', observedGeneration: 1 }, t0)).toEqual([
      { type: 'Ready', status: 'True', reason: 'Scheduled', message: 'ok', observedGeneration: 1, lastTransitionTime: t0.toISOString() },
    ]);
  });

  it('when only reason or message change, then lastTransitionTime stays', () => {
    const first = setCondition([], { type: 'Ready', status: 'True', reason: 'A', message: 'a' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'True', reason: 'B', message: 'b', observedGeneration: 2 }, t1);
    expect(second).toEqual([{ type: 'Ready', status: 'True', reason: 'B', message: 'b', observedGeneration: 2, lastTransitionTime: t0.toISOString() }]);
  });

  it('when the status flips, then lastTransitionTime moves, other conditions are kept and the input is untouched', () => {
    const before = [
      { type: 'Stalled', status: 'False' as const, reason: 'X', message: '', lastTransitionTime: t0.toISOString() },
      { type: 'Ready', status: 'True' as const, reason: 'A', message: '', lastTransitionTime: t0.toISOString() },
    ];
    const after = setCondition(before, { type: 'Ready', status: 'False', reason: 'InvalidSchedule', message: 'bad' }, t1);
    expect(after.map((c) => [c.type, c.status, c.lastTransitionTime])).toEqual([
      ['Stalled', 'False', t0.toISOString()],
      ['Ready', 'False', t1.toISOString()],
    ]);
    expect(before[1]?.status).toBe('True');
  });
});
