import { describe, expect, it } from '@jest/globals';
import { aliasProblem, generateCode, redirectAnswer, referrerOrigin, targetProblem } from './links.ts';

const OWN = ['http://localhost:8080/r/', 'https://bulw.rk/'];

describe('generateCode', () => {
  it('when codes are generated, then each is base-62 of the asked length and 10,000 of them do not repeat', () => {
    const codes = Array.from({ length: 10_000 }, () => generateCode());
    for (const c of codes.slice(0, 100)) expect(c).toMatch(/^[0-9A-Za-z]{7}$/);
    expect(new Set(codes).size).toBe(codes.length);
    expect(generateCode(10)).toHaveLength(10);
  });
});

describe('aliasProblem', () => {
  it('when an alias fits the pattern and is not ours, then it is accepted', () => {
    expect(aliasProblem('spring-sale_26')).toBeUndefined();
  });
  it('when an alias is too short, too long or has other characters, then the pattern refuses it', () => {
    for (const a of ['ab', 'x'.repeat(33), 'with space', 'ünï', 'a/b']) expect(aliasProblem(a)).toBe('pattern');
  });
  it('when an alias would shadow one of our paths (any case), then it is reserved', () => {
    expect(aliasProblem('Admin')).toBe('reserved');
    expect(aliasProblem('healthz')).toBe('reserved');
  });
});

describe('targetProblem', () => {
  it('when the target is an absolute http(s) URL elsewhere, then it is accepted', () => {
    expect(targetProblem('https://example.com/a?b=c#d', OWN)).toBeUndefined();
    expect(targetProblem('http://localhost:9000/r/abc', OWN)).toBeUndefined();
  });
  it('when the target is not http(s), has credentials, is not a URL or is too long, then each is named', () => {
    expect(targetProblem('javascript:alert(1)', OWN)).toBe('scheme');
    expect(targetProblem('ftp://example.com/x', OWN)).toBe('scheme');
    expect(targetProblem('https://user:pw@example.com/', OWN)).toBe('credentials');
    expect(targetProblem('/relative/path', OWN)).toBe('not-a-url');
    expect(targetProblem(`https://example.com/${'a'.repeat(2048)}`, OWN)).toBe('too-long');
  });
  it('when the target is one of our own short links (any case of host), then it is a loop', () => {
    expect(targetProblem('http://localhost:8080/r/abcdefg', OWN)).toBe('loop');
    expect(targetProblem('https://BULW.RK/xyz', OWN)).toBe('loop');
    expect(targetProblem('http://localhost:8080/v1/products', OWN)).toBeUndefined();
  });
});

describe('referrerOrigin', () => {
  it('when a referrer has a path and query, then only its origin is kept; none or junk is empty', () => {
    expect(referrerOrigin('https://news.example/item?id=42&user=ann')).toBe('https://news.example');
    expect(referrerOrigin(undefined)).toBe('');
    expect(referrerOrigin('not a url')).toBe('');
    expect(referrerOrigin('android-app://com.example')).toBe('');
  });
});

describe('redirectAnswer', () => {
  const now = new Date('2026-12-07T12:00:00Z');
  it('when a link is temporary, then 302 and no-store so every click comes back', () => {
    expect(redirectAnswer({ targetUrl: 'https://e.x/', redirectStatus: 302, expiresAt: null }, now)).toEqual({ kind: 'redirect', status: 302, location: 'https://e.x/', cacheControl: 'no-store' });
  });
  it('when a link is permanent, then 301 cacheable for a day, or until it expires if sooner', () => {
    expect(redirectAnswer({ targetUrl: 'https://e.x/', redirectStatus: 301, expiresAt: null }, now)).toMatchObject({ status: 301, cacheControl: 'public, max-age=86400' });
    expect(redirectAnswer({ targetUrl: 'https://e.x/', redirectStatus: 301, expiresAt: new Date(now.getTime() + 90_000) }, now)).toMatchObject({ cacheControl: 'public, max-age=90' });
  });
  it('when a link has expired (at the instant too), then it is expired', () => {
    expect(redirectAnswer({ targetUrl: 'https://e.x/', redirectStatus: 302, expiresAt: now }, now)).toEqual({ kind: 'expired' });
  });
});
