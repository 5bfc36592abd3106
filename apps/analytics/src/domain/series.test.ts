import { describe, expect, it } from '@jest/globals';
import { canUseRollups, parseFilters, percentileOf, seriesProblem, type SeriesQuery } from './series.ts';

const q = (over: Partial<SeriesQuery>): SeriesQuery => ({
  type: 'click', from: new Date('2026-12-07T00:00:00Z'), to: new Date('2026-12-07T01:00:00Z'), bucket: 'minute', agg: 'count', field: undefined, filters: [], segment: undefined, source: 'auto', ...over,
});

describe('seriesProblem', () => {
  it('when the query is sound, then it may run', () => expect(seriesProblem(q({}), 100)).toBeUndefined());
  it('when from is not before to, then it is refused', () => expect(seriesProblem(q({ to: new Date('2026-12-07T00:00:00Z') }), 100)).toMatch(/precede/));
  it('when too many buckets, then it is refused', () => expect(seriesProblem(q({}), 59)).toMatch(/more than 59/));
  it('when sum or a percentile has no field, then it is refused', () => {
    expect(seriesProblem(q({ agg: 'sum' }), 100)).toMatch(/needs a field/);
    expect(seriesProblem(q({ agg: 'p95' }), 100)).toMatch(/p95 needs a field/);
  });
});

describe('parseFilters', () => {
  it('when filters are key:value, then the first colon splits them', () => expect(parseFilters(['path:/a:b', 'currency:EUR'])).toEqual([{ key: 'path', value: '/a:b' }, { key: 'currency', value: 'EUR' }]));
  it('when a filter has no key, then it is refused', () => {
    expect(parseFilters(['nokey'])).toMatch(/not key:value/);
    expect(parseFilters([':x'])).toMatch(/not key:value/);
  });
});

describe('canUseRollups', () => {
  it('when hour or day buckets cover whole hours without filters, then the rollups answer', () => {
    expect(canUseRollups(q({ bucket: 'hour' }))).toBe(true);
    expect(canUseRollups(q({ bucket: 'day', agg: 'avg', field: 'x' }))).toBe(true);
  });
  it('when minutes, a percentile, a filter, a segment, a range off the hour or source=raw, then the raw events do', () => {
    expect(canUseRollups(q({ bucket: 'minute' }))).toBe(false);
    expect(canUseRollups(q({ bucket: 'hour', agg: 'p95', field: 'x' }))).toBe(false);
    expect(canUseRollups(q({ bucket: 'hour', filters: [{ key: 'a', value: 'b' }] }))).toBe(false);
    expect(canUseRollups(q({ bucket: 'hour', segment: { type: 'signup', filters: [] } }))).toBe(false);
    expect(canUseRollups(q({ bucket: 'hour', from: new Date('2026-12-07T00:30:00Z') }))).toBe(false);
    expect(canUseRollups(q({ bucket: 'hour', source: 'raw' }))).toBe(false);
  });
  it('when p95, then the percentile is 0.95', () => expect([percentileOf('p95'), percentileOf('p50'), percentileOf('max')]).toEqual([0.95, 0.5, undefined]));
});
