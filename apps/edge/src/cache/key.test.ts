import { describe, expect, it } from '@jest/globals';
import { cacheKey, pathOfKey } from './key.ts';

describe('cacheKey', () => {
  it('when the query parameters come in another order, then the key is the same', () => {
    expect(cacheKey('example.com', '/a?b=2&a=1')).toBe(cacheKey('example.com', '/a?a=1&b=2'));
    expect(cacheKey('example.com', '/a?b=2&a=1')).toBe('example.com/a?a=1&b=2');
  });

  it('when a name repeats, then its values keep their order (a list is not a set)', () => {
    expect(cacheKey('h', '/a?t=2&a=1&t=1')).toBe('h/a?a=1&t=2&t=1');
  });

  it('when the host differs in case or names the default port, then the key is the same', () => {
    expect(cacheKey('Example.COM:80', '/x')).toBe('example.com/x');
    expect(cacheKey('example.com:443', '/x')).toBe('example.com/x');
    expect(cacheKey('example.com:8098', '/x')).toBe('example.com:8098/x');
  });

  it('when the query is empty or only separators, then it is dropped', () => {
    expect(cacheKey('h', '/x?')).toBe('h/x');
    expect(cacheKey('h', '/x?&&')).toBe('h/x');
  });

  it('when the path differs in case, then the keys differ (paths are case-sensitive)', () => {
    expect(cacheKey('h', '/A')).not.toBe(cacheKey('h', '/a'));
  });

  it('pathOfKey gives the path and sorted query back', () => {
    expect(pathOfKey(cacheKey('Example.com', '/a?b=1&a=2'))).toBe('/a?a=2&b=1');
    expect(pathOfKey(cacheKey(undefined, '/a'))).toBe('/a');
  });
});
