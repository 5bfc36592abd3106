import { describe, expect, it } from '@jest/globals';
import { advisoryKey } from './lock-key.ts';

describe('advisoryKey', () => {
  it('when a name is given twice, then the key is the same signed 64-bit integer', () => {
    const key = advisoryKey('orders.projection:summaries');
    expect(key).toBe(advisoryKey('orders.projection:summaries'));
    const n = BigInt(key);
    expect(n >= -(2n ** 63n) && n < 2n ** 63n).toBe(true);
  });

  it('when names differ, then keys differ', () => {
    const keys = new Set(Array.from({ length: 10_000 }, (_, i) => advisoryKey(`lock-${i}`)));
    expect(keys.size).toBe(10_000);
  });

  it('when a name is empty or holds a control character, then it is refused', () => {
    expect(() => advisoryKey('')).toThrow(/lock name/);
    expect(() => advisoryKey('a\nb')).toThrow(/lock name/);
  });
});
