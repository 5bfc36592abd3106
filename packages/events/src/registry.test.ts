import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { EventDecodeError } from './errors.ts';
import { createEventRegistry, defineEvent } from './registry.ts';

const V1 = defineEvent({ type: 'test.user-renamed', version: 1, schema: z.object({ name: z.string() }) });
const V2 = defineEvent({
  type: 'test.user-renamed',
  version: 2,
  schema: z.object({ first: z.string(), last: z.string() }),
  upcast: (prev) => {
    const [first = '', last = ''] = (prev as { name: string }).name.split(' ');
    return { first, last };
  },
});
const V3 = defineEvent({
  type: 'test.user-renamed',
  version: 3,
  schema: z.object({ first: z.string(), last: z.string(), locale: z.string().default('en') }),
  upcast: (prev) => prev as { first: string; last: string },
});

describe('event registry', () => {
  const registry = createEventRegistry([V1, V2, V3]);

  it('when a v1 event is decoded, then it is upcast through every version to the latest', () => {
    expect(registry.decode('test.user-renamed', 1, { name: 'Ada Lovelace' })).toEqual({ version: 3, data: { first: 'Ada', last: 'Lovelace', locale: 'en' } });
  });

  it('when data does not match the schema of its version, then decoding fails with EVENTS_INVALID_DATA', () => {
    expect(() => registry.decode('test.user-renamed', 1, { name: 42 })).toThrow(expect.objectContaining({ code: 'EVENTS_INVALID_DATA' }));
  });

  it('when the type or version is unknown, then decoding fails with EVENTS_UNKNOWN_TYPE', () => {
    expect(() => registry.decode('test.other', 1, {})).toThrow(EventDecodeError);
    expect(() => registry.decode('test.user-renamed', 4, {})).toThrow(expect.objectContaining({ code: 'EVENTS_UNKNOWN_TYPE' }));
  });

  it('when a version is defined twice or lacks its upcast, then the registry refuses it', () => {
    expect(() => createEventRegistry([V1, V1])).toThrow(/defined twice/);
    const bare = { ...V2, upcast: undefined };
    expect(() => createEventRegistry([V1, bare])).toThrow(/needs upcast/);
  });

  it('when encoding with a definition from another registry, then it is refused', () => {
    expect(() => createEventRegistry([V1]).encode(V2, { first: 'a', last: 'b' })).toThrow(expect.objectContaining({ code: 'EVENTS_UNKNOWN_TYPE' }));
    expect(registry.latest('test.user-renamed')).toBe(V3);
  });
});
