import { describe, expect, it } from '@jest/globals';
import { createSealer } from './key-sealing.ts';

const k1 = 'a'.repeat(64);
const k2 = 'b'.repeat(64);

describe('createSealer', () => {
  it('when a key is sealed and opened with the same kid, then it comes back', () => {
    const s = createSealer(k1);
    expect(s.open(s.seal('{"d":"secret"}', 'kid-1'), 'kid-1')).toBe('{"d":"secret"}');
  });

  it('when the kid or the encryption key differs, or a byte is changed, then opening fails', () => {
    const s = createSealer(k1);
    const sealed = s.seal('{"d":"secret"}', 'kid-1');
    expect(() => s.open(sealed, 'kid-2')).toThrow();
    expect(() => createSealer(k2).open(sealed, 'kid-1')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => s.open(tampered, 'kid-1')).toThrow();
  });

  it('when two keys differ, then their fingerprints differ and never contain the key', () => {
    expect(createSealer(k1).fingerprint).not.toBe(createSealer(k2).fingerprint);
    expect(createSealer(k1).fingerprint).toHaveLength(16);
  });
});
