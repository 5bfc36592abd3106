import { describe, expect, it } from '@jest/globals';
import { assertSafeInput, inspectInput } from './input-guard.ts';

const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

describe('inspectInput', () => {
  it('when input is plain, then there is nothing to report', () => {
    expect(inspectInput({ a: 'x', b: [1, 'y', { c: null }], 'ключ': '\u{1F600}' }, 64)).toBeUndefined();
    expect(inspectInput(42, 64)).toBeUndefined();
  });

  it('when strings hold U+0000 or an unpaired surrogate, then each is reported at its dotted path', () => {
    expect(inspectInput({ a: ['ok', 'x\u0000'], b: { 'k\ud800': 1 }, c: '\udc00' }, 64)).toEqual({
      tooDeep: false,
      strings: [
        { path: 'c', message: 'must not contain an unpaired UTF-16 surrogate' },
        { path: 'b.k\ud800', message: 'key must not contain an unpaired UTF-16 surrogate' },
        { path: 'a.1', message: 'must not contain U+0000 (NUL)' },
      ],
    });
    expect(inspectInput('\u0000', 64)).toEqual({ tooDeep: false, strings: [{ path: '', message: 'must not contain U+0000 (NUL)' }] });
  });

  it('when thousands of strings are refused, then at most 20 are reported', () => {
    const finding = inspectInput(Array.from({ length: 5000 }, () => '\u0000'), 64);
    expect(finding?.tooDeep === false && finding.strings.length).toBe(20);
  });

  it('when nesting reaches maxDepth, then it passes; one level more is too deep', () => {
    expect(inspectInput(nested(64), 64)).toBeUndefined();
    expect(inspectInput(nested(65), 64)).toEqual({ tooDeep: true, maxDepth: 64 });
  });

  it('when input nests a million levels, then the walk neither recurses nor overflows', () => {
    const deep = nested(1_000_000);
    expect(inspectInput(deep, 64)).toEqual({ tooDeep: true, maxDepth: 64 });
    expect(inspectInput(deep, 2_000_000)).toBeUndefined();
  });
});

describe('assertSafeInput', () => {
  it('when a handler parsed input itself, then it gets the same 400s as a declared body', () => {
    expect(() => assertSafeInput({ ok: 'yes' })).not.toThrow();
    expect(() => assertSafeInput({ id: 'a\u0000' })).toThrow(expect.objectContaining({ code: 'REQUEST_VALIDATION_FAILED', status: 400, extensions: { issues: [{ in: 'body', path: 'id', message: 'must not contain U+0000 (NUL)' }] } }));
    expect(() => assertSafeInput(nested(100))).toThrow(expect.objectContaining({ code: 'JSON_TOO_DEEP', status: 400, extensions: { in: 'body', maxDepth: 64 } }));
  });
});
