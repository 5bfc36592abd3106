import { describe, expect, it } from '@jest/globals';
import { backoffDelayMs } from './backoff.ts';

const opts = { baseMs: 10, maxMs: 500 };

describe('backoffDelayMs', () => {
  it('when attempts increase, then the window doubles', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelayMs(a, opts, () => 0.999999))).toEqual([10, 20, 40, 80]);
  });

  it('when jitter is at its lowest, then half the window is still waited', () => {
    expect([1, 2, 3].map((a) => backoffDelayMs(a, opts, () => 0))).toEqual([5, 10, 20]);
  });

  it('when attempts grow large, then the delay is capped at maxMs', () => {
    expect(backoffDelayMs(40, opts, () => 0.999999)).toBe(500);
    expect(backoffDelayMs(1000, opts, () => 0)).toBe(250);
  });

  it('when random, then every delay lies inside the window', () => {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(3, opts);
      expect(d).toBeGreaterThanOrEqual(20);
      expect(d).toBeLessThanOrEqual(40);
    }
  });
});
