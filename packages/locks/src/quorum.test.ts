import { describe, expect, it } from '@jest/globals';
import { fenceOf, quorum, validityMs } from './quorum.ts';

describe('quorum', () => {
  it('when there are 1, 2, 3, 4 or 5 instances, then a majority is 1, 2, 2, 3, 3', () => {
    expect([1, 2, 3, 4, 5].map(quorum)).toEqual([1, 2, 2, 3, 3]);
  });
});

describe('validityMs', () => {
  it('when the round took 10 ms of a 1,000 ms lease, then 978 ms remain (drift 1% + 2 ms)', () => {
    expect(validityMs(1_000, 10)).toBe(978);
  });

  it('when the round took the whole lease, then nothing remains', () => {
    expect(validityMs(100, 100)).toBeLessThanOrEqual(0);
  });
});

describe('fenceOf', () => {
  it('when every granting instance counted the same, then that is the token and nothing is written back', () => {
    expect(fenceOf([7, 7])).toEqual({ token: 7, needsConfirm: false });
  });

  it('when one instance is behind (it restarted or missed grants), then the largest wins and is written back', () => {
    expect(fenceOf([3, 9, 9])).toEqual({ token: 9, needsConfirm: true });
  });
});
