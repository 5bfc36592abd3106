import { describe, expect, it } from '@jest/globals';
import { cacheControlValue, ifNoneMatchHits, strongEtag } from './http.ts';

describe('strongEtag', () => {
  it('when the bytes are equal, then the tag is equal and quoted; when they differ, then it differs', () => {
    expect(strongEtag('{"a":1}')).toBe(strongEtag(Buffer.from('{"a":1}')));
    expect(strongEtag('{"a":1}')).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(strongEtag('{"a":2}')).not.toBe(strongEtag('{"a":1}'));
  });
});

describe('ifNoneMatchHits', () => {
  const etag = strongEtag('x');
  it('when the header lists the tag (weak or not) or is *, then it hits', () => {
    expect(ifNoneMatchHits(etag, etag)).toBe(true);
    expect(ifNoneMatchHits(`"other", W/${etag}`, etag)).toBe(true);
    expect(ifNoneMatchHits(' * ', etag)).toBe(true);
  });
  it('when the header is absent or names other tags, then it misses', () => {
    expect(ifNoneMatchHits(undefined, etag)).toBe(false);
    expect(ifNoneMatchHits('"other"', etag)).toBe(false);
  });
});

describe('cacheControlValue', () => {
  it('when stale windows are given, then they follow max-age', () => {
    expect(cacheControlValue({ maxAgeSeconds: 60, staleWhileRevalidateSeconds: 30, staleIfErrorSeconds: 600 })).toBe('public, max-age=60, stale-while-revalidate=30, stale-if-error=600');
    expect(cacheControlValue({ maxAgeSeconds: -1, scope: 'private' })).toBe('private, max-age=0');
  });
});
