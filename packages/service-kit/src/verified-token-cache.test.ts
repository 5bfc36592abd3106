import { describe, expect, it } from '@jest/globals';
import { VerifiedTokenCache } from './verified-token-cache.ts';

const alice = { sub: 'alice', tenant: 'acme', roles: ['orders'] };
const bob = { sub: 'bob', tenant: undefined, roles: [] };

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('VerifiedTokenCache', () => {
  it('when a token was verified, then it is served until the TTL passes', () => {
    const c = clock();
    const cache = new VerifiedTokenCache<object>(1000, 10, 0, c.now);
    cache.set('Bearer a', alice, undefined);
    expect(cache.get('Bearer a')).toBe(alice);
    c.advance(999);
    expect(cache.get('Bearer a')).toBe(alice);
    c.advance(1);
    expect(cache.get('Bearer a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('when the token expires before the TTL, then it is dropped at exp plus the clock tolerance', () => {
    const c = clock(10_000_000);
    const cache = new VerifiedTokenCache<object>(60_000, 10, 5000, c.now);
    cache.set('Bearer a', alice, 10_000_000 / 1000 + 2); // exp in 2 s
    c.advance(6999);
    expect(cache.get('Bearer a')).toBe(alice);
    c.advance(1);
    expect(cache.get('Bearer a')).toBeUndefined();
  });

  it('when a token is already past its exp, then it is not kept', () => {
    const c = clock(10_000_000);
    const cache = new VerifiedTokenCache<object>(60_000, 10, 0, c.now);
    cache.set('Bearer a', alice, 10_000_000 / 1000 - 1);
    expect(cache.get('Bearer a')).toBeUndefined();
  });

  it('when the cache is full, then the oldest entry makes room', () => {
    const cache = new VerifiedTokenCache<object>(60_000, 2, 0, clock().now);
    cache.set('Bearer a', alice, undefined);
    cache.set('Bearer b', bob, undefined);
    cache.set('Bearer c', bob, undefined);
    expect([cache.get('Bearer a'), cache.get('Bearer b'), cache.get('Bearer c')]).toEqual([undefined, bob, bob]);
  });

  it('when the TTL or the size is 0, then nothing is kept', () => {
    for (const cache of [new VerifiedTokenCache<object>(0, 10, 0), new VerifiedTokenCache<object>(1000, 0, 0)]) {
      cache.set('Bearer a', alice, undefined);
      expect(cache.get('Bearer a')).toBeUndefined();
    }
  });

  it('when a connection repeats its token, then its remembered entry answers, never past that entry\'s expiry', () => {
    const c = clock();
    const cache = new VerifiedTokenCache<object>(1000, 1, 0, c.now);
    const conn = {};
    cache.set('Bearer a', alice, undefined);
    expect(cache.get('Bearer a', conn)).toBe(alice);
    cache.set('Bearer b', bob, undefined); // evicts a from the map (size 1)
    expect(cache.get('Bearer a')).toBeUndefined();
    expect(cache.get('Bearer a', conn)).toBe(alice); // the connection's entry, still within its TTL
    expect(cache.get('Bearer a', {})).toBeUndefined(); // another connection has only the map
    c.advance(1000);
    expect(cache.get('Bearer a', conn)).toBeUndefined();
  });

  it('when a connection switches tokens, then each request gets the principal of the token it sent', () => {
    const cache = new VerifiedTokenCache<object>(60_000, 10, 0, clock().now);
    const conn = {};
    cache.set('Bearer a', alice, undefined);
    cache.set('Bearer b', bob, undefined);
    expect([cache.get('Bearer a', conn), cache.get('Bearer b', conn), cache.get('Bearer a', conn), cache.get('Bearer x', conn)]).toEqual([alice, bob, alice, undefined]);
  });
});
