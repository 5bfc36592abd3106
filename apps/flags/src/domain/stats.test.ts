import { describe, expect, it } from '@jest/globals';
import { chiSquareP, sampleRatioCheck, twoProportionZTest, twoSidedNormalP } from './stats.ts';

describe('experiment statistics', () => {
  it('when given textbook quantiles, then the normal and chi-square tails match the tables', () => {
    expect(twoSidedNormalP(1.959964)).toBeCloseTo(0.05, 5);
    expect(twoSidedNormalP(0)).toBeCloseTo(1, 6);
    expect(twoSidedNormalP(3.290527)).toBeCloseTo(0.001, 5);
    expect(chiSquareP(3.841459, 1)).toBeCloseTo(0.05, 5);
    expect(chiSquareP(10.827566, 1)).toBeCloseTo(0.001, 6);
    expect(chiSquareP(5.991465, 2)).toBeCloseTo(0.05, 5);
    expect(chiSquareP(18.307038, 10)).toBeCloseTo(0.05, 5);
    expect(chiSquareP(0, 3)).toBe(1);
  });

  it('when control converts 10% of 10,000 and treatment 11.5%, then the z-test finds it (pooled z ≈ 3.42) and a 10.1% arm it does not', () => {
    const control = { n: 10_000, x: 1_000 };
    const up = twoProportionZTest(control, { n: 10_000, x: 1_150 }, 0.05);
    expect(up.z).toBeCloseTo(3.424, 2);
    expect(up.significant).toBe(true);
    expect(up.relativeLift).toBeCloseTo(0.15, 6);
    expect(twoProportionZTest(control, { n: 10_000, x: 1_010 }, 0.05).significant).toBe(false);
  });

  it('when exposures split 50.03/49.97 or 50.6/49.4 of 100,000 on a 50/50 rollout, then only the second is a sample-ratio mismatch', () => {
    expect(sampleRatioCheck([50_030, 49_970], [0.5, 0.5])!.mismatch).toBe(false);
    const srm = sampleRatioCheck([50_600, 49_400], [0.5, 0.5])!;
    expect(srm.chiSquare).toBeCloseTo(14.4, 6);
    expect(srm.pValue).toBeCloseTo(0.000148, 5);
    expect(srm.mismatch).toBe(true);
    expect(sampleRatioCheck([0, 0], [0.5, 0.5])).toBeNull();
  });
});
