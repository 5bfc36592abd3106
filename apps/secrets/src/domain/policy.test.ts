import { describe, expect, it } from '@jest/globals';
import { mayRead, NAME_PATTERN, patternMatches, POLICY_PATTERN } from './policy.ts';

describe('access policy patterns', () => {
  it('when a pattern is exact, a /* prefix or *, then it matches what it says and nothing more', () => {
    expect(patternMatches('payments/psp-key', 'payments/psp-key')).toBe(true);
    expect(patternMatches('payments/psp-key', 'payments/psp-key2')).toBe(false);
    expect(patternMatches('payments/*', 'payments/psp-key')).toBe(true);
    expect(patternMatches('payments/*', 'payments/a/b')).toBe(true);
    expect(patternMatches('payments/*', 'payments')).toBe(false);
    expect(patternMatches('payments/*', 'payments-other/x')).toBe(false);
    expect(patternMatches('*', 'anything/at/all')).toBe(true);
    expect(mayRead([], 'x')).toBe(false);
    expect(mayRead(['a', 'b/*'], 'b/c')).toBe(true);
  });

  it('when names and patterns are validated, then traversal, empty segments and upper case are refused', () => {
    for (const ok of ['a', 'payments/psp-key', 'a.b_c-d/e']) expect(NAME_PATTERN.test(ok)).toBe(true);
    for (const bad of ['', '/a', 'a/', 'a//b', '../a', 'A', 'a/*', '.a']) expect(NAME_PATTERN.test(bad)).toBe(false);
    for (const ok of ['*', 'a/*', 'a/b']) expect(POLICY_PATTERN.test(ok)).toBe(true);
    for (const bad of ['a*', '*/a', 'a/*/b', '']) expect(POLICY_PATTERN.test(bad)).toBe(false);
  });
});
