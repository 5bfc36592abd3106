import { describe, expect, it } from '@jest/globals';
import { compareLsn, confirmExactly, formatLsn, parseLsn, ZERO_LSN } from './lsn.ts';

describe('LSN arithmetic', () => {
  it('when an LSN is parsed and formatted, then it reads as PostgreSQL writes it', () => {
    expect(parseLsn('0/2D80480')).toBe(0x2d80480n);
    expect(parseLsn('1/0')).toBe(1n << 32n);
    expect(formatLsn(parseLsn('0/02d80480'))).toBe('0/2D80480');
    expect(formatLsn(parseLsn('FFFFFFFF/FFFFFFFF'))).toBe('FFFFFFFF/FFFFFFFF');
  });

  it('when the text is not an LSN, then parsing throws', () => {
    for (const bad of ['', '0', '0/', '/1', '0/123456789', 'g/1', '0/1 ']) expect(() => parseLsn(bad)).toThrow(/not an LSN/);
  });

  it('when LSNs are compared, then the 64-bit order holds across the halves', () => {
    expect(compareLsn('0/FFFFFFFF', '1/0')).toBe(-1);
    expect(compareLsn('1/0', '0/FFFFFFFF')).toBe(1);
    expect(compareLsn('0/2D80480', '0/2d80480')).toBe(0);
  });
});

describe('confirmExactly', () => {
  function recorder(): { sent: Array<[string, boolean]>; acknowledge(lsn: string, ping?: boolean): Promise<boolean> } {
    const sent: Array<[string, boolean]> = [];
    return {
      sent,
      async acknowledge(lsn, ping = false) {
        sent.push([lsn, ping]);
        return true;
      },
    };
  }

  it('when a position is confirmed, then the library is handed one less, since it reports its argument plus one', async () => {
    const r = recorder();
    await confirmExactly(r, '0/2D80480');
    await confirmExactly(r, '1/0', true);
    expect(r.sent).toEqual([
      ['0/2D8047F', false],
      ['0/FFFFFFFF', true],
    ]);
  });

  it('when the position is zero, then nothing is sent (it would rewind the slot)', async () => {
    const r = recorder();
    expect(await confirmExactly(r, ZERO_LSN, true)).toBe(false);
    expect(await confirmExactly(r, '0/00000000')).toBe(false);
    expect(r.sent).toEqual([]);
  });
});
