import { describe, expect, it } from '@jest/globals';
import { LocalLimiter, type LocalEntry } from './local-limiter.ts';

const tb: LocalEntry = { key: 'tb', algorithm: 'token-bucket', limit: 4, windowMs: 4_000 };
const fw: LocalEntry = { key: 'fw', algorithm: 'fixed-window', limit: 2, windowMs: 1_000 };
const sw: LocalEntry = { key: 'sw', algorithm: 'sliding-window', limit: 10, windowMs: 1_000 };

function admitted(l: LocalLimiter, entries: LocalEntry[], now: number, attempts: number): number {
  let n = 0;
  for (let i = 0; i < attempts; i++) if (l.check(entries, 1, now).allowed) n++;
  return n;
}

describe('LocalLimiter', () => {
  it('when a token bucket is drained, then it refills at limit/window', () => {
    const l = new LocalLimiter();
    expect(admitted(l, [tb], 0, 10)).toBe(4);
    expect(l.check([tb], 1, 0).results[0]!.retryAfterMs).toBe(1_000);
    expect(admitted(l, [tb], 2_000, 10)).toBe(2);
  });

  it('when the sliding window crosses a boundary, then the previous window weighs in like the Lua script', () => {
    const l = new LocalLimiter();
    expect(admitted(l, [sw], 900, 10)).toBe(10);
    expect(admitted(l, [sw], 1_100, 5)).toBe(1);
    expect(admitted(l, [sw], 1_500, 10)).toBe(4);
  });

  it('when one entry rejects, then nothing is consumed from the others', () => {
    const l = new LocalLimiter();
    expect(admitted(l, [tb, fw], 0, 5)).toBe(2);
    expect(admitted(l, [tb], 0, 5)).toBe(2); // tb lost only the 2 admitted
  });

  it('when more keys than maxKeys are used, then the oldest are dropped', () => {
    const l = new LocalLimiter(3);
    for (let i = 0; i < 10; i++) l.check([{ ...fw, key: `k${i}` }], 1, 0);
    expect(l.size).toBe(3);
  });
});
