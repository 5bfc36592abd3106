import { describe, expect, it } from '@jest/globals';
import { lockSecondsAfter, retryAfterSeconds } from './lockout-policy.ts';

const policy = { threshold: 5, baseSeconds: 30, maxSeconds: 900 };

describe('lockSecondsAfter', () => {
  it('when failures are below the threshold, then nothing is locked', () => {
    for (let n = 0; n < 5; n++) expect(lockSecondsAfter(n, policy)).toBe(0);
  });

  it('when failures reach the threshold, then the lock doubles per failure', () => {
    expect([5, 6, 7, 8, 9].map((n) => lockSecondsAfter(n, policy))).toEqual([30, 60, 120, 240, 480]);
  });

  it('when failures go on and on, then a lock never exceeds the cap', () => {
    expect(lockSecondsAfter(10, policy)).toBe(900);
    expect(lockSecondsAfter(1_000_000, policy)).toBe(900);
  });
});

describe('retryAfterSeconds', () => {
  it('when the lock is over or absent, then 0; while locked, whole seconds rounded up and at least 1', () => {
    expect(retryAfterSeconds(null, 1000)).toBe(0);
    expect(retryAfterSeconds(1000, 1000)).toBe(0);
    expect(retryAfterSeconds(1001, 1000)).toBe(1);
    expect(retryAfterSeconds(31_000, 1000)).toBe(30);
  });
});
