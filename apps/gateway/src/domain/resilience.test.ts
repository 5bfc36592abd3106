import { describe, expect, it } from '@jest/globals';
import { Bulkhead, RetryBudget } from './resilience.ts';

describe('RetryBudget', () => {
  it('when retries would exceed 20% of requests in the window, then further retries are refused', () => {
    let now = 1_000_000;
    const budget = new RetryBudget(0.2, 10, 0, () => now);
    for (let i = 0; i < 100; i++) budget.recordRequest();
    let granted = 0;
    for (let i = 0; i < 50; i++) if (budget.tryRetry()) granted++;
    expect(granted).toBe(20);
    now += 11_000; // the window slides past every counted second
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
  });

  it('when traffic is quiet, then the minimum per window still allows retries', () => {
    const budget = new RetryBudget(0.2, 10, 3, () => 0);
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([true, true, true, false]);
  });
});

describe('Bulkhead', () => {
  it('when full, then acquiring fails at once until a slot is released (once)', () => {
    const b = new Bulkhead(2);
    const r1 = b.tryAcquire()!;
    b.tryAcquire();
    expect(b.tryAcquire()).toBeUndefined();
    r1();
    r1();
    expect(b.inFlight).toBe(1);
    expect(b.tryAcquire()).toBeDefined();
  });
});
