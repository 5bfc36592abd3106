import { describe, expect, it } from '@jest/globals';
import { LiveFeed } from './live-feed.ts';

const hour = new Date('2026-12-07T10:00:00Z');
const row = (type: string, n: number, micros: number) => ({ type, field: '', bucket: hour, n, sum: 0, micros: String(micros) });

describe('LiveFeed', () => {
  it('when a poll sees the same bucket again unchanged, then it is not sent twice; changed, it is', () => {
    const feed = new LiveFeed(1_000n, 500n);
    expect(feed.take([row('click', 1, 1_100)])).toHaveLength(1);
    expect(feed.cursor).toBe(1_100n);
    expect(feed.pollFrom()).toBe(600n);
    expect(feed.take([row('click', 1, 1_100)])).toEqual([]);
    expect(feed.take([row('click', 2, 1_200)])).toEqual([row('click', 2, 1_200)]);
  });

  it('when a row arrives inside the overlap, older than the cursor, then it is sent and the cursor stays', () => {
    const feed = new LiveFeed(2_000n, 500n);
    expect(feed.take([row('view', 3, 1_800)])).toEqual([row('view', 3, 1_800)]);
    expect(feed.cursor).toBe(2_000n);
  });
});
