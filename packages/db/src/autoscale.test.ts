import { describe, expect, it } from '@jest/globals';
import { DEFAULT_AUTOSCALE, INITIAL_AUTOSCALE_STATE, assertAutoscaleConfig, decidePoolSize, type AutoscaleConfig, type AutoscaleSample, type AutoscaleState } from './autoscale.ts';

const config: AutoscaleConfig = { ...DEFAULT_AUTOSCALE, min: 2, max: 20, growAfterTicks: 2, shrinkAfterTicks: 3, growStep: 2, shrinkStep: 1 };

function run(samples: AutoscaleSample[], cfg = config): { sizes: number[]; state: AutoscaleState } {
  let state = INITIAL_AUTOSCALE_STATE;
  const sizes: number[] = [];
  let size = samples[0]!.size;
  for (const s of samples) {
    const d = decidePoolSize({ ...s, size }, state, cfg);
    state = d.state;
    size = d.size;
    sizes.push(size);
  }
  return { sizes, state };
}

describe('decidePoolSize', () => {
  it('when callers wait for fewer ticks than growAfterTicks, then the size holds', () => {
    const d = decidePoolSize({ size: 4, busy: 4, waiting: 3 }, INITIAL_AUTOSCALE_STATE, config);
    expect(d).toMatchObject({ size: 4, reason: 'hold', state: { pressureTicks: 1, slackTicks: 0 } });
  });

  it('when callers keep waiting, then the pool grows by the number of waiters', () => {
    expect(run([{ size: 4, busy: 4, waiting: 3 }, { size: 4, busy: 4, waiting: 3 }]).sizes).toEqual([4, 7]);
  });

  it('when one caller waits, then growth is at least growStep', () => {
    expect(run([{ size: 4, busy: 4, waiting: 1 }, { size: 4, busy: 4, waiting: 1 }]).sizes).toEqual([4, 6]);
  });

  it('when many callers wait, then growth at most doubles and never passes max', () => {
    expect(run([{ size: 4, busy: 4, waiting: 50 }, { size: 4, busy: 4, waiting: 50 }]).sizes).toEqual([4, 8]);
    expect(run([{ size: 18, busy: 18, waiting: 50 }, { size: 18, busy: 18, waiting: 50 }]).sizes).toEqual([18, 20]);
  });

  it('when the waiting streak is broken, then it starts again', () => {
    const samples = [{ size: 4, busy: 4, waiting: 2 }, { size: 4, busy: 4, waiting: 0 }, { size: 4, busy: 4, waiting: 2 }];
    expect(run(samples).sizes).toEqual([4, 4, 4]);
  });

  it('when utilisation stays low, then the pool shrinks one step per shrinkAfterTicks', () => {
    const quiet = { size: 10, busy: 1, waiting: 0 };
    expect(run(Array(6).fill(quiet)).sizes).toEqual([10, 10, 9, 9, 9, 8]);
  });

  it('when shrinking, then the size never drops below min nor below the busy connections', () => {
    expect(run(Array(9).fill({ size: 3, busy: 0, waiting: 0 })).sizes.at(-1)).toBe(2);
    const cfg = { ...config, shrinkBelowUtilisation: 0.9, shrinkStep: 5 };
    expect(run(Array(3).fill({ size: 10, busy: 8, waiting: 0 }), cfg).sizes.at(-1)).toBe(8);
  });

  it('when utilisation is high without waiters, then the size holds', () => {
    expect(run(Array(10).fill({ size: 10, busy: 6, waiting: 0 })).sizes.at(-1)).toBe(10);
  });

  it('when a resize happens, then both streaks reset', () => {
    const d = decidePoolSize({ size: 4, busy: 4, waiting: 3 }, { pressureTicks: 1, slackTicks: 0 }, config);
    expect(d.reason).toBe('grow');
    expect(d.state).toEqual(INITIAL_AUTOSCALE_STATE);
  });

  it('when the config is impossible, then every bad key is named', () => {
    expect(() => assertAutoscaleConfig({ ...config, min: 5, max: 3, shrinkBelowUtilisation: 2 })).toThrow(/max must be.*shrinkBelowUtilisation/);
  });
});
