import { describe, expect, it } from '@jest/globals';
import { sniffType, typeMatches } from './sniff.ts';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('sniffType', () => {
  it('when the bytes start with a known signature, then its type is named', () => {
    expect(sniffType(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0))).toBe('image/png');
    expect(sniffType(bytes(0xff, 0xd8, 0xff, 0xe0))).toBe('image/jpeg');
    expect(sniffType(Buffer.from('GIF89a...'))).toBe('image/gif');
    expect(sniffType(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 '))).toBe('image/webp');
    expect(sniffType(Buffer.from('%PDF-1.7\n'))).toBe('application/pdf');
    expect(sniffType(Buffer.from('hello, world\n'))).toBe('text/plain');
  });

  it('when the bytes are binary and unknown, then no type is named', () => {
    expect(sniffType(bytes(0x4d, 0x5a, 0x90, 0x00))).toBeUndefined();
    expect(sniffType(bytes())).toBeUndefined();
  });
});

describe('typeMatches', () => {
  it('when a PNG is declared as a PDF, then it does not match and the detected type is given', () => {
    expect(typeMatches('application/pdf', bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toEqual({ ok: false, detected: 'image/png' });
  });

  it('when text is declared with a charset, then its essence is compared', () => {
    expect(typeMatches('Text/Plain; charset=utf-8', Buffer.from('plain words'))).toEqual({ ok: true, detected: 'text/plain' });
  });
});
