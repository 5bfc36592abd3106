/**
 * The CloudEvents 1.0 envelope and its Kafka binding in binary content mode:
 * every attribute is a `ce_<name>` header, `datacontenttype` is the
 * `content-type` header, and the Kafka value is the event data alone (JSON).
 * Trace context rides as the CloudEvents distributed-tracing extension
 * (`ce_traceparent`, `ce_tracestate`) and also as plain W3C `traceparent` /
 * `tracestate` headers, which tracing instrumentation reads without knowing
 * CloudEvents. Pure functions: no Kafka client here.
 */
import { EventDecodeError } from './errors.ts';

export const SPEC_VERSION = '1.0';
export const JSON_CONTENT_TYPE = 'application/json';

/** One event as handlers and producers see it (CloudEvents 1.0 attributes plus extensions). */
export interface CloudEvent<T = unknown> {
  specversion: '1.0';
  /** Unique per source; the processed-event store deduplicates on it. */
  id: string;
  /** URI-reference of the producing service, e.g. `/bulwark/orders`. */
  source: string;
  type: string;
  /** The aggregate the event is about; also the Kafka key (per-aggregate ordering). */
  subject: string | undefined;
  /** RFC 3339 timestamp of the occurrence. */
  time: string;
  datacontenttype: 'application/json';
  dataschema: string | undefined;
  /** Extension: the schema version of `data` (after upcasting, the latest). */
  dataversion: number;
  /** Extension (distributed tracing): W3C traceparent of the producing span. */
  traceparent: string | undefined;
  tracestate: string | undefined;
  data: T;
}

/** A Kafka record without the client: string headers, string key, Buffer or string value. */
export interface KafkaRecord {
  key: string | null;
  value: string | Buffer | null;
  headers: Record<string, string>;
}

const HEADER_PREFIX = 'ce_';

/** Binary content mode: attributes to headers, data to the value. */
export function toKafkaRecord(event: CloudEvent): KafkaRecord {
  const headers: Record<string, string> = {
    ce_specversion: event.specversion,
    ce_id: event.id,
    ce_source: event.source,
    ce_type: event.type,
    ce_time: event.time,
    ce_dataversion: String(event.dataversion),
    'content-type': event.datacontenttype,
  };
  if (event.subject !== undefined) headers.ce_subject = event.subject;
  if (event.dataschema !== undefined) headers.ce_dataschema = event.dataschema;
  if (event.traceparent !== undefined) {
    headers.ce_traceparent = event.traceparent;
    headers.traceparent = event.traceparent;
  }
  if (event.tracestate !== undefined) {
    headers.ce_tracestate = event.tracestate;
    headers.tracestate = event.tracestate;
  }
  return { key: event.subject ?? null, value: JSON.stringify(event.data), headers };
}

function required(headers: Record<string, string>, name: string): string {
  const value = headers[HEADER_PREFIX + name];
  if (value === undefined || value === '') throw new EventDecodeError('EVENTS_INVALID_ENVELOPE', `missing header ${HEADER_PREFIX}${name}`);
  return value;
}

/**
 * Reads the envelope of a binary-mode record; `data` is the parsed JSON, not
 * yet validated against its schema. Throws EventDecodeError when the record
 * is not a CloudEvent we can read.
 */
export function fromKafkaRecord(record: KafkaRecord): CloudEvent {
  const { headers } = record;
  const specversion = required(headers, 'specversion');
  if (specversion !== SPEC_VERSION) throw new EventDecodeError('EVENTS_INVALID_ENVELOPE', `unsupported specversion ${specversion}`);
  const contentType = headers['content-type'] ?? JSON_CONTENT_TYPE;
  if (!contentType.startsWith(JSON_CONTENT_TYPE)) throw new EventDecodeError('EVENTS_INVALID_ENVELOPE', `unsupported content-type ${contentType}`);
  const versionText = required(headers, 'dataversion');
  const dataversion = Number(versionText);
  if (!Number.isInteger(dataversion) || dataversion < 1) throw new EventDecodeError('EVENTS_INVALID_ENVELOPE', `bad ce_dataversion ${versionText}`);
  let data: unknown;
  try {
    data = record.value === null ? null : JSON.parse(record.value.toString());
  } catch (err) {
    throw new EventDecodeError('EVENTS_INVALID_ENVELOPE', 'value is not JSON', err);
  }
  return {
    specversion: SPEC_VERSION,
    id: required(headers, 'id'),
    source: required(headers, 'source'),
    type: required(headers, 'type'),
    subject: headers.ce_subject ?? record.key ?? undefined,
    time: headers.ce_time ?? new Date(0).toISOString(),
    datacontenttype: JSON_CONTENT_TYPE,
    dataschema: headers.ce_dataschema,
    dataversion,
    traceparent: headers.ce_traceparent ?? headers.traceparent,
    tracestate: headers.ce_tracestate ?? headers.tracestate,
    data,
  };
}

/** Kafka header values as strings (first value of repeated headers). */
export function headersToStrings(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || value === null) continue;
    out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return out;
}
