import { describe, expect, it } from '@jest/globals';
import { eventually } from './wait.ts';

describe('eventually', () => {
  it('when the value read reaches the condition, then it returns that value', async () => {
    let n = 0;
    expect(await eventually('n reaches 3', () => ++n, (v) => v >= 3, 30_000, 1)).toBe(3);
  });

  it('when the condition never holds, then it gives up naming what and the last value read', async () => {
    await expect(eventually('ready', async () => ({ phase: 'Pending' }), (v) => v.phase === 'Running', 20, 1)).rejects.toThrow('ready: still {"phase":"Pending"} after 20 ms');
  });

  it('when a read throws, then the wait ends with that error', async () => {
    const failure = eventually('never', () => {
      throw new Error('kubectl failed');
    }, () => true);
    await expect(failure).rejects.toThrow(/^kubectl failed$/);
  });
});
