import { describe, expect, it } from '@jest/globals';
import { formatLsn, lagBytes, parseLsn } from './lsn.ts';

describe('LSN', () => {
  it('when an LSN is parsed, then both halves count and it formats back', () => {
    expect(parseLsn('0/3000060')).toBe(0x3000060n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) + 0xb374d848n);
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
  });

  it('when the high half differs, then ordering follows it, not the string', () => {
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
    expect(lagBytes(parseLsn('1/0'), parseLsn('0/FFFFFFFF'))).toBe(1n);
    expect(lagBytes(parseLsn('0/10'), parseLsn('0/20'))).toBe(0n);
  });

  it('when the text is not an LSN, then it throws', () => {
    expect(() => parseLsn('x/1')).toThrow(RangeError);
    expect(() => parseLsn('')).toThrow(RangeError);
  });
});
