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

  it('when two policies share a name, then the set is rejected', () => {
    const p = { name: 'a', algorithm: 'token-bucket' as const, limit: 1, windowSeconds: 1 };
    expect(() => compilePolicies([p, p])).toThrow(/defined twice/);
  });
});
