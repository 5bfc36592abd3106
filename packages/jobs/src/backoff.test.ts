import { describe, expect, it } from '@jest/globals';
import { backoffCeiling, fullJitterDelay, type BackoffPolicy } from './backoff.ts';

const policy: BackoffPolicy = { baseMs: 100, capMs: 10_000 };

describe('fullJitterDelay', () => {
  it('when attempts grow, then the ceiling doubles from base until the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffCeiling(n, policy))).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10_000]);
    expect(backoffCeiling(5000, policy)).toBe(10_000);
  });

  it('when random is at its extremes, then the delay spans [1, ceiling]: never 0, which BullMQ would retry at once', () => {
    for (let n = 1; n <= 12; n++) {
      expect(fullJitterDelay(n, policy, () => 0)).toBe(1);
      expect(fullJitterDelay(n, policy, () => 0.999_999)).toBe(backoffCeiling(n, policy));
    }
  });

  it('when sampled many times, then every delay is within bounds and the spread covers the range', () => {
    for (let n = 1; n <= 10; n++) {
      const ceiling = backoffCeiling(n, policy);
      const samples = Array.from({ length: 2000 }, () => fullJitterDelay(n, policy));
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(1);
      expect(Math.max(...samples)).toBeLessThanOrEqual(ceiling);
      // Full jitter, not equal jitter: some delays land in the bottom and top tenth.
      expect(samples.some((d) => d < ceiling * 0.1)).toBe(true);
      expect(samples.some((d) => d >= ceiling * 0.9)).toBe(true);
    }
  });

  it('when the attempt is zero or fractional, then it is treated as the first retry', () => {
    expect(backoffCeiling(0, policy)).toBe(100);
    expect(backoffCeiling(2.7, policy)).toBe(200);
  });
});
