import { describe, expect, it } from '@jest/globals';
// @ts-expect-error cluster-key-slot (ioredis' own slot function) ships no types
import calculateSlot from 'cluster-key-slot';
import { defaultScope, stateKey } from './keys.ts';

describe('key layout', () => {
  it('when one check spans several policies and subjects, then every key hashes to the same cluster slot', () => {
    for (const scope of ['tenant:acme', defaultScope('per-ip', '2001:db8::1'), 'x}y{z', '}', '{}', '']) {
      const keys = [['per-ip', '203.0.113.9'], ['per-user', 'u-{1}'], ['per-route', 'GET /a/{id}']].map(([p, s]) => stateKey('rl', scope, p!, s!));
      expect(new Set(keys.map((k) => calculateSlot(k))).size).toBe(1);
    }
  });

  it('when the scope contains braces, then they are escaped so the hash tag is the whole scope', () => {
    expect(stateKey('rl', 'a}b', 'p', 's')).toBe('rl:{a%7Db}:p:s');
    expect(calculateSlot(stateKey('rl', 'a}b', 'p', 's'))).toBe(calculateSlot('a%7Db'));
  });
});
