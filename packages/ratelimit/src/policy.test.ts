import { describe, expect, it } from '@jest/globals';
import { compilePolicies, compilePolicy } from './policy.ts';

describe('compilePolicy', () => {
  it('when a policy is valid, then its script arguments and header item are precomputed', () => {
    expect(compilePolicy({ name: 'api', algorithm: 'fixed-window', limit: 5, windowSeconds: 0.5 })).toMatchObject({
      algorithmArg: '3', limitArg: '5', windowArg: '500', policyItem: '"api";q=5;w=1',
    });
  });

  it.each([
    [{ name: 'a:b', algorithm: 'fixed-window', limit: 5, windowSeconds: 1 }, /name/],
    [{ name: 'a', algorithm: 'leaky', limit: 5, windowSeconds: 1 }, /algorithm/],
    [{ name: 'a', algorithm: 'fixed-window', limit: 1.5, windowSeconds: 1 }, /limit/],
    [{ name: 'a', algorithm: 'fixed-window', limit: 5, windowSeconds: 0 }, /windowSeconds/],
  ])('when a policy is invalid (%j), then compiling throws RATE_LIMIT_POLICY_INVALID', (config, message) => {
    expect(() => compilePolicy(config as never)).toThrow(message);
    expect(() => compilePolicy(config as never)).toThrow(expect.objectContaining({ code: 'RATE_LIMIT_POLICY_INVALID' }));
  });

  it('when a policy has a lease, then its units and TTL (default min(1 s, window / 10)) are compiled', () => {
    expect(compilePolicy({ name: 'a', algorithm: 'token-bucket', limit: 100, windowSeconds: 60, lease: { units: 10 } })).toMatchObject({ leaseUnits: 10, leaseTtlMs: 1000, leaseArg: '10' });
    expect(compilePolicy({ name: 'a', algorithm: 'fixed-window', limit: 100, windowSeconds: 2, lease: { units: 10 } })).toMatchObject({ leaseTtlMs: 200 });
    expect(compilePolicy({ name: 'a', algorithm: 'fixed-window', limit: 100, windowSeconds: 60, lease: { units: 1, ttlSeconds: 0.25 } })).toMatchObject({ leaseTtlMs: 250 });
    expect(compilePolicy({ name: 'a', algorithm: 'fixed-window', limit: 100, windowSeconds: 60 })).toMatchObject({ leaseUnits: 0 });
  });

  it.each([
    [{ units: 0 }, /lease\.units must be an integer ≥ 1 and below the limit \(10\), got 0/],
    [{ units: 10 }, /lease\.units .* below the limit \(10\), got 10/],
    [{ units: 2.5 }, /lease\.units/],
    [{ units: 2, ttlSeconds: 0 }, /lease\.ttlSeconds must be > 0 and ≤ windowSeconds \(60\), got 0/],
    [{ units: 2, ttlSeconds: 61 }, /lease\.ttlSeconds/],
    [{ units: 2, ttlSeconds: Number.NaN }, /lease\.ttlSeconds/],
    ['10', /lease must be an object/],
  ])('when a lease is invalid (%j), then compiling throws RATE_LIMIT_POLICY_INVALID naming the field', (lease, message) => {
    const config = { name: 'api', algorithm: 'fixed-window', limit: 10, windowSeconds: 60, lease };
    expect(() => compilePolicy(config as never)).toThrow(message);
    expect(() => compilePolicy(config as never)).toThrow(expect.objectContaining({ code: 'RATE_LIMIT_POLICY_INVALID' }));
  });

  it('when a set is recompiled, then unchanged policies keep their compiled object and changed ones do not', () => {
    const a = { name: 'a', algorithm: 'fixed-window' as const, limit: 10, windowSeconds: 60, lease: { units: 2 } };
    const b = { name: 'b', algorithm: 'fixed-window' as const, limit: 10, windowSeconds: 60 };
    const first = compilePolicies([a, b]);
    const second = compilePolicies([{ ...a, lease: { units: 2 } }, { ...b, lease: { units: 3 } }], first);
    expect(second.get('a')).toBe(first.get('a'));
    expect(second.get('b')).not.toBe(first.get('b'));
  });

  it('when two policies share a name, then the set is rejected', () => {
    const p = { name: 'a', algorithm: 'token-bucket' as const, limit: 1, windowSeconds: 1 };
    expect(() => compilePolicies([p, p])).toThrow(/defined twice/);
  });
});
