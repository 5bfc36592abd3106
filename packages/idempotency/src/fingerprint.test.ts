import { describe, expect, it } from '@jest/globals';
import { canonicalJson, lockKeyOf, parseIdempotencyKey, requestFingerprint } from './fingerprint.ts';

describe('canonicalJson', () => {
  it('when objects differ only in key order or whitespace, then the canonical forms are equal', () => {
    const a = JSON.parse('{ "b": 1, "a": { "y": [1, {"q": true, "p": null}], "x": "s" } }');
    const b = JSON.parse('{"a":{"x":"s","y":[1,{"p":null,"q":true}]},"b":1}');
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":"s","y":[1,{"p":null,"q":true}]},"b":1}');
  });

  it('when array order differs, then the canonical forms differ', () => {
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });

  it('when a member is undefined, then it is dropped like JSON.stringify does', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson([undefined])).toBe('[null]');
  });

  it('when numbers are written differently but equal, then they canonicalize the same', () => {
    expect(canonicalJson(JSON.parse('{"n": 1.0}'))).toBe(canonicalJson(JSON.parse('{"n": 1}')));
    expect(canonicalJson(JSON.parse('{"n": 1e2}'))).toBe('{"n":100}');
  });

  it('when strings need escaping, then they are escaped as JSON', () => {
    expect(canonicalJson({ 'k"': 'line\nbreak' })).toBe('{"k\\"":"line\\nbreak"}');
  });
});

describe('requestFingerprint', () => {
  it('when method, path and canonical body are equal, then the fingerprint is equal', () => {
    expect(requestFingerprint('post', '/x', { a: 1, b: 2 })).toBe(requestFingerprint('POST', '/x', { b: 2, a: 1 }));
  });

  it('when any of method, path or body differs, then the fingerprint differs', () => {
    const base = requestFingerprint('POST', '/x', { a: 1 });
    expect(requestFingerprint('PUT', '/x', { a: 1 })).not.toBe(base);
    expect(requestFingerprint('POST', '/y', { a: 1 })).not.toBe(base);
    expect(requestFingerprint('POST', '/x', { a: 2 })).not.toBe(base);
    expect(requestFingerprint('POST', '/x', undefined)).not.toBe(base);
  });

  it('when the body is absent, then it differs from an empty object', () => {
    expect(requestFingerprint('POST', '/x', undefined)).not.toBe(requestFingerprint('POST', '/x', {}));
  });
});

describe('parseIdempotencyKey', () => {
  it('when the header is absent or blank, then it is missing', () => {
    expect(parseIdempotencyKey(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(parseIdempotencyKey('  ')).toEqual({ ok: false, reason: 'missing' });
  });

  it('when the key is a bare token or an sf-string, then the value is the same', () => {
    expect(parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324')).toEqual({ ok: true, key: '8e03978e-40d5-43e8-bc93-6894a57f9324' });
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toEqual({ ok: true, key: '8e03978e-40d5-43e8-bc93-6894a57f9324' });
    expect(parseIdempotencyKey('"saga:1:reserve"')).toEqual({ ok: true, key: 'saga:1:reserve' });
  });

  it('when the key is too long, has control characters or a stray quote, then it is invalid', () => {
    expect(parseIdempotencyKey('x'.repeat(256))).toEqual({ ok: false, reason: 'invalid' });
    expect(parseIdempotencyKey('a\u0001b')).toEqual({ ok: false, reason: 'invalid' });
    expect(parseIdempotencyKey('"a"b"')).toEqual({ ok: false, reason: 'invalid' });
    expect(parseIdempotencyKey('x'.repeat(255))).toEqual({ ok: true, key: 'x'.repeat(255) });
  });
});

describe('lockKeyOf', () => {
  it('when scope, tenant or key differ, then the lock keys differ, and they fit a signed bigint', () => {
    const a = lockKeyOf('s', 'k');
    expect(lockKeyOf('s', 'k')).toBe(a);
    expect(lockKeyOf('s2', 'k')).not.toBe(a);
    expect(lockKeyOf('s', 'k2')).not.toBe(a);
    expect(lockKeyOf('s', 'k', '')).toBe(a);
    expect(lockKeyOf('s', 'k', 'tenant-a')).not.toBe(a);
    expect(lockKeyOf('s', 'k', 'tenant-a')).not.toBe(lockKeyOf('s', 'k', 'tenant-b'));
    const n = BigInt(a);
    expect(n >= -(2n ** 63n) && n < 2n ** 63n).toBe(true);
  });
});
