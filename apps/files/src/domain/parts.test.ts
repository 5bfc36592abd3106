import { describe, expect, it } from '@jest/globals';
import { planParts } from './uploads.ts';

describe('planParts', () => {
  it('when the size is not a multiple of the part size, then the last part is the remainder', () => {
    expect(planParts(12, 5)).toEqual([
      { partNumber: 1, size: 5 },
      { partNumber: 2, size: 5 },
      { partNumber: 3, size: 2 },
    ]);
  });

  it('when the size is a multiple, then every part is full', () => {
    expect(planParts(10, 5).map((p) => p.size)).toEqual([5, 5]);
  });
});
