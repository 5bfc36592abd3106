import { describe, expect, it } from '@jest/globals';
import { fromKafkaRecord, headersToStrings, toKafkaRecord, type CloudEvent } from './envelope.ts';

const event: CloudEvent = {
  specversion: '1.0',
  id: 'e-1',
  source: '/bulwark/orders',
  type: 'com.bulwark.orders.order-placed',
  subject: 'order-1',
  time: '2026-01-02T03:04:05.000Z',
  datacontenttype: 'application/json',
  dataschema: 'https://schemas.bulwark.dev/order-placed/2',
  dataversion: 2,
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  tracestate: 'vendor=x',
  data: { total: 10 },
};

describe('CloudEvents Kafka binding (binary mode)', () => {
  it('when an event is encoded, then attributes become ce_ headers, trace context is also a W3C header, and the value is the data', () => {
    const record = toKafkaRecord(event);
    expect(record.key).toBe('order-1');
    expect(record.value).toBe('{"total":10}');
    expect(record.headers).toEqual({
      ce_specversion: '1.0',
      ce_id: 'e-1',
      ce_source: '/bulwark/orders',
      ce_type: 'com.bulwark.orders.order-placed',
      ce_subject: 'order-1',
      ce_time: '2026-01-02T03:04:05.000Z',
      ce_dataschema: 'https://schemas.bulwark.dev/order-placed/2',
      ce_dataversion: '2',
      ce_traceparent: event.traceparent,
      ce_tracestate: 'vendor=x',
      traceparent: event.traceparent,
      tracestate: 'vendor=x',
      'content-type': 'application/json',
    });
  });

  it('when a record is decoded, then the event round-trips', () => {
    const record = toKafkaRecord(event);
    const headers = headersToStrings(Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, Buffer.from(v)])));
    expect(fromKafkaRecord({ key: record.key, value: Buffer.from(String(record.value)), headers })).toEqual(event);
  });

  it('when a required attribute is missing or the value is not JSON, then decoding fails with EVENTS_INVALID_ENVELOPE', () => {
    const { headers } = toKafkaRecord(event);
    const { ce_id: _id, ...withoutId } = headers;
    expect(() => fromKafkaRecord({ key: null, value: '{}', headers: withoutId })).toThrow(expect.objectContaining({ code: 'EVENTS_INVALID_ENVELOPE' }));
    expect(() => fromKafkaRecord({ key: null, value: 'not json', headers })).toThrow(expect.objectContaining({ code: 'EVENTS_INVALID_ENVELOPE' }));
    expect(() => fromKafkaRecord({ key: null, value: '{}', headers: { ...headers, ce_dataversion: 'x' } })).toThrow(/dataversion/);
  });
});
