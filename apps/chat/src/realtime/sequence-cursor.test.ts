import { describe, expect, it } from '@jest/globals';
import { SequenceCursor } from './sequence-cursor.ts';

describe('SequenceCursor', () => {
  it('when numbers arrive in order, then each is delivered and the cursor follows', () => {
    const c = new SequenceCursor(0);
    expect([1, 2, 3].map((s) => c.offer(s))).toEqual(['deliver', 'deliver', 'deliver']);
    expect(c.last).toBe(3);
  });

  it('when a number arrives twice or late, then it is a duplicate and the cursor stays', () => {
    const c = new SequenceCursor(5);
    expect(c.offer(5)).toBe('duplicate');
    expect(c.offer(2)).toBe('duplicate');
    expect(c.last).toBe(5);
  });

  it('when a number skips ahead, then it is a gap and the cursor stays until the missing ones are read', () => {
    const c = new SequenceCursor(5);
    expect(c.offer(7)).toBe('gap');
    expect(c.last).toBe(5);
    expect(c.offer(6)).toBe('deliver');
    expect(c.offer(7)).toBe('deliver');
  });
});
