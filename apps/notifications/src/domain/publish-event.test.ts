import { describe, expect, it } from '@jest/globals';
import { assertPayloadSize, eventFingerprint, eventPayload } from './publish-event.ts';

describe('event fingerprint (same id, same event?)', () => {
  it('when only key order or whitespace differs, then the fingerprint is the same', () => {
    const a = eventFingerprint({ type: 'order.confirmed', data: JSON.parse('{"a":1,"b":{"c":[1,2],"d":null}}') });
    const b = eventFingerprint({ type: 'order.confirmed', data: JSON.parse('{ "b": { "d": null, "c": [1, 2] }, "a": 1 }') });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when the type, a value, an array order or a key differs, then the fingerprint differs', () => {
    const base = eventFingerprint({ type: 'order.confirmed', data: { a: 1, list: [1, 2] } });
    for (const other of [
      { type: 'order.cancelled', data: { a: 1, list: [1, 2] } },
      { type: 'order.confirmed', data: { a: 2, list: [1, 2] } },
      { type: 'order.confirmed', data: { a: 1, list: [2, 1] } },
      { type: 'order.confirmed', data: { a: 1, list: [1, 2], extra: true } },
      { type: 'order.confirmed', data: { a: '1', list: [1, 2] } },
    ]) {
      expect([other, eventFingerprint(other)]).not.toEqual([other, base]);
    }
  });

  it('when data is absent or null, then both are the same event', () => {
    expect(eventFingerprint({ type: 't', data: undefined })).toBe(eventFingerprint({ type: 't', data: null }));
  });
});

describe('event payload', () => {
  it('when an event is serialised, then receivers get id, type, occurredAt and data, and the size limit counts bytes', () => {
    const payload = eventPayload({ id: 'e1', type: 't', occurredAt: '2026-12-07T00:00:00.000Z', data: { name: 'é' } });
    expect(JSON.parse(payload)).toEqual({ id: 'e1', type: 't', occurredAt: '2026-12-07T00:00:00.000Z', data: { name: 'é' } });
    const bytes = Buffer.byteLength(payload);
    expect(() => assertPayloadSize(payload, bytes)).not.toThrow();
    expect(() => assertPayloadSize(payload, bytes - 1)).toThrow(expect.objectContaining({ code: 'NOTIFICATIONS_PAYLOAD_TOO_LARGE' }));
  });
});
