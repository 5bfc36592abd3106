import { describe, expect, it } from '@jest/globals';
import { isCompressible, negotiateCoding } from './encoding.ts';

describe('negotiateCoding', () => {
  it('when br and gzip are both accepted, then br is chosen', () => {
    expect(negotiateCoding('gzip, deflate, br')).toBe('br');
  });

  it('when gzip is preferred by q-value, then gzip is chosen', () => {
    expect(negotiateCoding('br;q=0.5, gzip;q=0.9')).toBe('gzip');
  });

  it('when a coding is refused with q=0, then it is not chosen', () => {
    expect(negotiateCoding('br;q=0, gzip')).toBe('gzip');
    expect(negotiateCoding('*;q=0')).toBe('identity');
  });

  it('when nothing or only other codings are accepted, then identity is sent', () => {
    expect(negotiateCoding(undefined)).toBe('identity');
    expect(negotiateCoding('deflate')).toBe('identity');
    expect(negotiateCoding('*')).toBe('br');
  });
});

describe('isCompressible', () => {
  it('when the body is text-like, then it is compressible; media are not', () => {
    expect(isCompressible('text/html; charset=utf-8')).toBe(true);
    expect(isCompressible('application/json')).toBe(true);
    expect(isCompressible('application/problem+json')).toBe(true);
    expect(isCompressible('image/svg+xml')).toBe(true);
    expect(isCompressible('image/png')).toBe(false);
    expect(isCompressible('video/mp4')).toBe(false);
    expect(isCompressible(undefined)).toBe(false);
  });
});
