import { describe, expect, it } from '@jest/globals';
import { validateEvents } from './event-types.ts';

const now = new Date('2026-12-07T12:00:00Z');
const window = { now, pastDays: 7, futureMs: 300_000 };
const good = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'purchase', occurredAt: '2026-12-07T11:00:00Z', props: { orderId: 'o-1', amountCents: 1250, currency: 'EUR' }, ...extra });

describe('validateEvents', () => {
  it('when rows are good, then each is accepted with its tenant, UTC time and props', () => {
    const { accepted, errors } = validateEvents([good('a'), { id: 'b', type: 'page-view', occurredAt: '2026-12-07T13:01:00+01:00', props: { path: '/' } }], 't1', window);
    expect(errors).toEqual([]);
    expect(accepted.map((e) => [e.tenant, e.id, e.occurredAt, e.source])).toEqual([
      ['t1', 'a', '2026-12-07T11:00:00.000Z', 'api'],
      ['t1', 'b', '2026-12-07T12:01:00.000Z', 'api'],
    ]);
  });

  it('when some rows are bad, then each bad row is named by index, id and pointer and the others are accepted', () => {
    const { accepted, errors } = validateEvents(
      [good('a'), good('b', { props: { orderId: 'o', amountCents: -1, currency: 'EUR' } }), good('c', { type: 'nope' }), 'x', good('e', { occurredAt: '2026-11-01T00:00:00Z' }), good('f', { extra: 1 })],
      't1',
      window,
    );
    expect(accepted.map((e) => e.id)).toEqual(['a']);
    expect(errors.map((e) => [e.index, e.id, e.pointer])).toEqual([
      [1, 'b', '/events/1/props/amountCents'],
      [2, 'c', '/events/2/type'],
      [3, undefined, '/events/3'],
      [4, 'e', '/events/4/occurredAt'],
      [5, 'f', '/events/5'],
    ]);
  });

  it('when a custom event carries nested objects, then it is refused (properties are scalars)', () => {
    const { errors } = validateEvents([{ id: 'a', type: 'custom', occurredAt: '2026-12-07T11:00:00Z', props: { n: 1, deep: { x: 1 } } }], 't1', window);
    expect(errors[0]?.pointer).toBe('/events/0/props/deep');
  });
});
