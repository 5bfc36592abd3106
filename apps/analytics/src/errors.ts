/**
 * Error codes of analytics, registered once at import. Each code means one
 * thing forever; the service kit maps them to problem+json.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const ANALYTICS_ERROR_CODES = [
  { code: 'ANALYTICS_TENANT_REQUIRED', status: 403, title: 'Tenant required', description: 'Events and series belong to a tenant (x-auth-tenant, set by the gateway from the verified token).' },
  { code: 'ANALYTICS_EVENTS_INVALID', status: 422, title: 'Every event is invalid', description: 'No event of the request passed validation; `errors` names each one (`index`, `id`, `pointer`, `detail`). Nothing was accepted.' },
  { code: 'ANALYTICS_SERIES_INVALID', status: 422, title: 'Invalid series query', description: '`from` must precede `to`, the span must fit SERIES_MAX_BUCKETS buckets, and sum/avg/min/max need a `field` (`reason`).' },
  { code: 'ANALYTICS_QUERY_INVALID', status: 422, title: 'Invalid query', description: 'A filter is not `key:value`, `from` does not precede `to`, a funnel has not 2 to 8 steps, or a retention range spans too many cohorts (`reason`).' },
  { code: 'ANALYTICS_UPLOAD_TOO_LARGE', status: 413, title: 'Upload too large', description: 'The upload is over UPLOAD_MAX_BYTES: refused before reading when Content-Length says so, else when the byte count passes it. `accepted` says how many rows were handed to Kafka before that (0 when refused up front); a retry with the same ids stores nothing twice.' },
  { code: 'ANALYTICS_UPLOAD_INVALID', status: 422, title: 'Nothing in the upload is valid', description: 'No row of the upload passed validation, or the CSV header lacks id, type or occurredAt (`errors`, `reason`). Nothing was accepted.' },
  { code: 'ANALYTICS_UPLOAD_UNSUPPORTED', status: 415, title: 'Upload format not supported', description: 'An upload is text/csv or application/x-ndjson (Content-Type).' },
  { code: 'ANALYTICS_INGEST_UNAVAILABLE', status: 503, title: 'Ingestion unavailable', description: 'Kafka did not acknowledge the accepted events; nothing of this request is stored (an upload: only the `accepted` rows before it). Retry with the same event ids (duplicates are dropped).' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(ANALYTICS_ERROR_CODES);

export type AnalyticsErrorCode = (typeof ANALYTICS_ERROR_CODES)[number]['code'];

export function analyticsError(code: AnalyticsErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  const info = ANALYTICS_ERROR_CODES.find((c) => c.code === code)!;
  return new AppError(code, message, { status: info.status, ...(extensions ? { extensions } : {}) });
}
