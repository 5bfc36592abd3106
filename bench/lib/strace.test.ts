import { describe, expect, it } from '@jest/globals';
import { callsOf } from './strace.ts';

describe('callsOf', () => {
  it('when strace -c prints its summary, then each syscall maps to its calls, with or without errors, and the total is left out', () => {
    const summary = [
      '% time     seconds  usecs/call     calls    errors syscall',
      '------ ----------- ----------- --------- --------- ----------------',
      ' 91.42    3.204095        4564       702        58 futex',
      '  3.29    0.115165           5     20000           writev',
      '  2.41    0.084329           2     40026           read',
      '  0.00    0.000002           0        10           getpeername',
      '  0.00    0.000000           0         1           io_uring_enter',
      '------ ----------- ----------- --------- --------- ----------------',
      '100.00    3.504763          40     87475        58 total',
      '',
    ].join('\n');
    expect([...callsOf(summary)]).toEqual([
      ['futex', 702],
      ['writev', 20000],
      ['read', 40026],
      ['getpeername', 10],
      ['io_uring_enter', 1],
    ]);
  });

  it('when the file is empty (strace attached to nothing), then there are no calls', () => {
    expect(callsOf('').size).toBe(0);
  });
});
