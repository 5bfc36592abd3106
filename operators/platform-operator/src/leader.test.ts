import { describe, expect, it } from '@jest/globals';
import { DEFAULT_TIMINGS, LeaderElectionConfigError, resolveTimings } from './leader.ts';

describe('resolveTimings', () => {
  it('when nothing is given, then the defaults are 15 s lease, 10 s renew deadline, 2 s retry', () => {
    expect(resolveTimings()).toEqual({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    expect(DEFAULT_TIMINGS).toEqual(resolveTimings({}));
  });

  it('when only some timings are given, then the rest keep their defaults', () => {
    expect(resolveTimings({ retryPeriodMs: 1000 })).toEqual({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 1000 });
  });

  it('when the lease duration is not above the renew deadline, then it fails naming both', () => {
    expect(() => resolveTimings({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      'leaseDurationMs (10000) must be greater than renewDeadlineMs (10000)',
    );
  });

  it('when the renew deadline is not above 1.2 × retry period, then it fails naming both', () => {
    expect(() => resolveTimings({ renewDeadlineMs: 2400, retryPeriodMs: 2000 })).toThrow('renewDeadlineMs (2400) must be greater than 1.2 × retryPeriodMs (2400)');
    expect(resolveTimings({ renewDeadlineMs: 2401, retryPeriodMs: 2000 }).renewDeadlineMs).toBe(2401);
  });

  it('when several timings are wrong, then every problem is listed in one error', () => {
    let caught: unknown;
    try {
      resolveTimings({ leaseDurationMs: 5_500, renewDeadlineMs: 6_000, retryPeriodMs: 5_000 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LeaderElectionConfigError);
    expect((caught as LeaderElectionConfigError).problems).toHaveLength(3);
  });

  it('when a timing is zero, negative or not a number, then it fails before comparing', () => {
    expect(() => resolveTimings({ retryPeriodMs: 0 })).toThrow('retryPeriodMs must be a positive number of ms (got 0)');
    expect(() => resolveTimings({ leaseDurationMs: Number.NaN })).toThrow(/leaseDurationMs must be a positive number/);
  });

  it('when the lease duration is not whole seconds, then it fails, since the Lease stores seconds', () => {
    expect(() => resolveTimings({ leaseDurationMs: 15_500 })).toThrow(/whole seconds/);
  });
});
