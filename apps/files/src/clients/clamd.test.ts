import { describe, expect, it } from '@jest/globals';
import { parseScanReply } from './clamd.ts';

describe('parseScanReply', () => {
  it('when clamd says OK, then the stream is clean', () => {
    expect(parseScanReply('stream: OK\0')).toEqual({ verdict: 'clean' });
  });

  it('when clamd names a signature, then the stream is infected with that name', () => {
    expect(parseScanReply('stream: Bulwark.Test.EICAR.UNOFFICIAL FOUND')).toEqual({ verdict: 'infected', signature: 'Bulwark.Test.EICAR.UNOFFICIAL' });
  });

  it('when clamd errs, then the scan fails rather than passing', () => {
    expect(() => parseScanReply('INSTREAM size limit exceeded. ERROR')).toThrow(/size limit/);
    expect(() => parseScanReply('')).toThrow(/no answer/);
  });
});
