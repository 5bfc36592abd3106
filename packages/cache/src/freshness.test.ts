import { describe, expect, it } from '@jest/globals';
import { jitterTtl, retentionMs, shouldRefreshEarly, standing } from './freshness.ts';

const windows = { staleWhileRevalidateMs: 1_000, staleIfErrorMs: 10_000 };

describe('jitterTtl', () => {
  it('when random is 0, then the TTL is whole; when 1, shortened by the whole fraction', () => {
    expect(jitterTtl(10_000, 0.1, () => 0)).toBe(10_000);
    expect(jitterTtl(10_000, 0.1, () => 0.999999)).toBe(9_000);
  });

  it('when the fraction is out of range, then it is clamped and the TTL stays at least 1 ms', () => {
    expect(jitterTtl(10_000, -1, () => 0.5)).toBe(10_000);
    expect(jitterTtl(10, 5, () => 0.999999)).toBe(1);
  });
});

describe('standing', () => {
  it('when freshness is left, then fresh; within the windows, then stale or error-only; past them, expired', () => {
    expect(standing(1, windows)).toBe('fresh');
    expect(standing(0, windows)).toBe('stale');
    expect(standing(-1_000, windows)).toBe('stale');
    expect(standing(-1_001, windows)).toBe('error-only');
    expect(standing(-10_000, windows)).toBe('error-only');
    expect(standing(-10_001, windows)).toBe('expired');
  });

  it('when stale-if-error is shorter than stale-while-revalidate, then retention is the longer one', () => {
    expect(retentionMs({ staleWhileRevalidateMs: 5, staleIfErrorMs: 2 })).toBe(5);
  });
});

describe('shouldRefreshEarly', () => {
  it('when far from expiry, then no; when the computation time times -ln(r) reaches the time left, then yes', () => {
    expect(shouldRefreshEarly(60_000, 100, 1, () => 0.5)).toBe(false);
    expect(shouldRefreshEarly(50, 100, 1, () => 0.5)).toBe(true); // 100 * ln 2 ≈ 69 ≥ 50
    expect(shouldRefreshEarly(50, 100, 1, () => 0)).toBe(true);
  });

  it('when beta or the computation time is 0, then never', () => {
    expect(shouldRefreshEarly(1, 100, 0, () => 0)).toBe(false);
    expect(shouldRefreshEarly(1, 0, 1, () => 0)).toBe(false);
  });
});
