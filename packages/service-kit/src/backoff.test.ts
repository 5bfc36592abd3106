import { describe, expect, it } from '@jest/globals';
import { backoffCeiling, backoffDelay, type BackoffPolicy } from './backoff.ts';

const policy: BackoffPolicy = { baseMs: 100, capMs: 10_000 };

describe('backoffCeiling', () => {
  it('when attempts grow, then the ceiling doubles from base until the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffCeiling(n, policy))).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10_000]);
  });

  it('when the attempt is huge, then the cap holds and nothing overflows to Infinity or NaN', () => {
    expect(backoffCeiling(5000, policy)).toBe(10_000);
    expect(backoffCeiling(5000, { baseMs: 0, capMs: 10 })).toBe(0);
    expect(backoffCeiling(2000, { baseMs: 1, capMs: Number.MAX_VALUE })).toBe(2 ** 52);
  });

  it('when the attempt is zero, negative or fractional, then the whole attempt below counts, at least the first', () => {
    expect(backoffCeiling(0, policy)).toBe(100);
    expect(backoffCeiling(-3, policy)).toBe(100);
    expect(backoffCeiling(2.7, policy)).toBe(200);
  });
});

describe('backoffDelay', () => {
  it('when no jitter is asked for, then the delay is the ceiling and random is not called', () => {
    const random = () => {
      throw new Error('random called');
    };
    expect([1, 2, 3, 4, 5, 6, 2000].map((n) => backoffDelay(n, { baseMs: 100, capMs: 1000 }, random))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(backoffDelay(3, { ...policy, jitter: 'none' }, random)).toBe(400);
  });

  it('when full jitter meets random at its extremes, then the delay spans [0, ceiling)', () => {
    const full: BackoffPolicy = { ...policy, jitter: 'full' };
    for (let n = 1; n <= 12; n++) {
      expect(backoffDelay(n, full, () => 0)).toBe(0);
      expect(backoffDelay(n, full, () => 0.999_999)).toBe(backoffCeiling(n, full) - 1);
    }
    const gateway: BackoffPolicy = { baseMs: 100, capMs: 1000, jitter: 'full' };
    expect(backoffDelay(1, gateway, () => 0.999)).toBe(99);
    expect(backoffDelay(4, gateway, () => 0.999)).toBe(799);
    expect(backoffDelay(11, gateway, () => 0.5)).toBe(500);
    expect(backoffDelay(6, gateway, () => 0)).toBe(0);
  });

  it('when equal jitter is drawn at random, then every delay lies inside the window', () => {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, { baseMs: 10, capMs: 500, jitter: 'equal' });
      expect(d).toBeGreaterThanOrEqual(20);
      expect(d).toBeLessThanOrEqual(40);
    }
  });

  it('when equal jitter meets random at its extremes, then the delay spans [ceiling/2, ceiling]', () => {
    const equal: BackoffPolicy = { baseMs: 10, capMs: 500, jitter: 'equal' };
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, equal, () => 0.999_999))).toEqual([10, 20, 40, 80]);
    expect([1, 2, 3].map((n) => backoffDelay(n, equal, () => 0))).toEqual([5, 10, 20]);
    expect(backoffDelay(40, equal, () => 0.999_999)).toBe(500);
    expect(backoffDelay(1000, equal, () => 0)).toBe(250);
  });

  it('when sampled many times, then full jitter reaches the bottom tenth and equal jitter never goes below half', () => {
    for (let n = 1; n <= 10; n++) {
      const ceiling = backoffCeiling(n, policy);
      const full = Array.from({ length: 2000 }, () => backoffDelay(n, { ...policy, jitter: 'full' }));
      const equal = Array.from({ length: 2000 }, () => backoffDelay(n, { ...policy, jitter: 'equal' }));
      expect(Math.min(...full)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...full)).toBeLessThan(ceiling);
      expect(full.some((d) => d < ceiling * 0.1)).toBe(true);
      expect(full.some((d) => d >= ceiling * 0.9)).toBe(true);
      expect(Math.min(...equal)).toBeGreaterThanOrEqual(ceiling / 2);
      expect(Math.max(...equal)).toBeLessThanOrEqual(ceiling);
      expect(equal.every((d) => Number.isInteger(d))).toBe(true);
    }
  });
});
