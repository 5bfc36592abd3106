import { describe, expect, it } from '@jest/globals';
import { cohortsOf, funnelProblem, funnelSteps, periodStart, retentionProblem, type FunnelQuery, type RetentionQuery } from './insights.ts';

const scope = { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2026-12-08T00:00:00Z'), filters: [], segment: undefined };

describe('funnels', () => {
  const f = (steps: string[]): FunnelQuery => ({ ...scope, steps, windowSeconds: 3600 });
  it('when 2 to 8 steps, then it may run; else it is refused', () => {
    expect(funnelProblem(f(['a', 'b']))).toBeUndefined();
    expect(funnelProblem(f(['a']))).toMatch(/2 to 8/);
    expect(funnelProblem(f(Array.from({ length: 9 }, (_, i) => `s${i}`)))).toMatch(/2 to 8/);
  });
  it('when users drop at each step, then the ratios are to the previous and to the first step', () => {
    expect(funnelSteps(['view', 'cart', 'checkout'], [100, 40, 10])).toEqual([
      { type: 'view', users: 100, fromPrevious: 1, fromFirst: 1 },
      { type: 'cart', users: 40, fromPrevious: 0.4, fromFirst: 0.4 },
      { type: 'checkout', users: 10, fromPrevious: 0.25, fromFirst: 0.1 },
    ]);
    expect(funnelSteps(['a', 'b'], [0, 0]).map((s) => s.fromFirst)).toEqual([0, 0]);
  });
});

describe('retention', () => {
  const r = (period: 'day' | 'week'): RetentionQuery => ({ ...scope, cohortType: 'signup', returnType: 'page-view', period, periods: 4 });
  it('when the range holds too many cohorts, then it is refused', () => {
    expect(retentionProblem(r('day'), 7)).toBeUndefined();
    expect(retentionProblem(r('day'), 6)).toMatch(/more than 6 day cohorts/);
  });
  it('when a week is asked, then it starts on Monday (UTC)', () => {
    expect(periodStart(new Date('2026-12-06T23:00:00Z'), 'week').toISOString()).toBe('2026-11-30T00:00:00.000Z'); // a Sunday → the Monday before
    expect(periodStart(new Date('2026-12-07T05:00:00Z'), 'day').toISOString()).toBe('2026-12-07T00:00:00.000Z');
  });
  it('when rows name some periods, then the others are 0 and a cohort without returns still appears', () => {
    const d1 = new Date('2026-12-01T00:00:00Z');
    const d2 = new Date('2026-12-02T00:00:00Z');
    expect(cohortsOf([{ cohort: d2, size: 3, k: null, users: 0 }, { cohort: d1, size: 5, k: 0, users: 5 }, { cohort: d1, size: 5, k: 2, users: 1 }], 3)).toEqual([
      { start: d1, size: 5, retained: [5, 0, 1] },
      { start: d2, size: 3, retained: [0, 0, 0] },
    ]);
  });
});
