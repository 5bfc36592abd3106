import { describe, expect, it } from '@jest/globals';
import { partitionOf, partitionsBefore } from './event-store.ts';

describe('partitionsBefore', () => {
  it('when a day ends at or before the cutoff, then its partition is dropped; the cutoff day and other tables are not', () => {
    const names = ['events_p20261120', 'events_p20261130', 'events_p20261201', 'events_p20261207', 'event_rollups_hourly', 'events_default'];
    expect(partitionsBefore(names, new Date('2026-12-01T00:00:00Z'))).toEqual(['events_p20261120', 'events_p20261130']);
  });
  it('when a partition is named for a day, then partitionsBefore reads the same day back', () => {
    const p = partitionOf(new Date('2026-02-28T23:59:59Z'));
    expect(p.name).toBe('events_p20260228');
    expect(partitionsBefore([p.name], new Date(p.to))).toEqual([p.name]);
    expect(partitionsBefore([p.name], new Date(p.from))).toEqual([]);
  });
});
