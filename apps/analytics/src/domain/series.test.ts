import { describe, expect, it } from '@jest/globals';
import { seriesProblem, type SeriesQuery } from './series.ts';

const q = (over: Partial<SeriesQuery>): SeriesQuery => ({ type: 'click', from: new Date('2026-12-07T00:00:00Z'), to: new Date('2026-12-07T01:00:00Z'), bucket: 'minute', agg: 'count', field: undefined, ...over });

describe('seriesProblem', () => {
  it('when the query is sound, then it may run', () => expect(seriesProblem(q({}), 100)).toBeUndefined());
  it('when from is not before to, then it is refused', () => expect(seriesProblem(q({ to: new Date('2026-12-07T00:00:00Z') }), 100)).toMatch(/precede/));
  it('when too many buckets, then it is refused', () => expect(seriesProblem(q({}), 59)).toMatch(/more than 59/));
  it('when sum has no field, then it is refused', () => expect(seriesProblem(q({ agg: 'sum' }), 100)).toMatch(/needs a field/));
});
