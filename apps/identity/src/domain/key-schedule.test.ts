import { describe, expect, it } from '@jest/globals';
import { currentKey, planKeyRing, publishedKeys } from './key-schedule.ts';

const schedule = { rotationMs: 1000, publishAheadMs: 100, retireAfterMs: 300 };

describe('planKeyRing', () => {
  it('when there is no key, then one is created active at once', () => {
    expect(planKeyRing([], 5000, schedule)).toEqual({ create: 5000, remove: [] });
  });

  it('when the current key is young, then nothing is due', () => {
    expect(planKeyRing([{ kid: 'a', activatesAt: 0 }], 500, schedule)).toEqual({ create: undefined, remove: [] });
  });

  it('when the rotation is within publish-ahead, then the next key is created to activate on schedule', () => {
    expect(planKeyRing([{ kid: 'a', activatesAt: 0 }], 900, schedule)).toEqual({ create: 1000, remove: [] });
  });

  it('when the rotation was missed (nobody ran), then the next key still gets the full publish-ahead', () => {
    expect(planKeyRing([{ kid: 'a', activatesAt: 0 }], 5000, schedule)).toEqual({ create: 5100, remove: [] });
  });

  it('when a next key exists already, then no second one is created', () => {
    expect(planKeyRing([{ kid: 'a', activatesAt: 0 }, { kid: 'b', activatesAt: 1000 }], 950, schedule).create).toBeUndefined();
  });

  it('when a superseded key is past its last token expiry, then it is removed; before that it stays', () => {
    const keys = [{ kid: 'a', activatesAt: 0 }, { kid: 'b', activatesAt: 1000 }];
    expect(planKeyRing(keys, 1299, schedule).remove).toEqual([]);
    expect(planKeyRing(keys, 1300, schedule).remove).toEqual(['a']);
  });
});

describe('currentKey and publishedKeys', () => {
  const keys = [{ kid: 'b', activatesAt: 1000 }, { kid: 'a', activatesAt: 0 }, { kid: 'c', activatesAt: 2000 }];

  it('when keys are scheduled, then the latest activated signs', () => {
    expect(currentKey(keys, 999)?.kid).toBe('a');
    expect(currentKey(keys, 1000)?.kid).toBe('b');
    expect(currentKey([], 1000)).toBeUndefined();
  });

  it('when a key is ahead of its activation, then it is published already', () => {
    expect(publishedKeys(keys, 900, schedule).map((k) => k.kid)).toEqual(['a', 'b', 'c']);
    expect(publishedKeys(keys, 1300, schedule).map((k) => k.kid)).toEqual(['b', 'c']);
  });
});
