/**
 * Error codes of analytics, registered once at import. Each code means one
 * thing forever; the service kit maps them to problem+json.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const ANALYTICS_ERROR_CODES = [
  { code: 'ANALYTICS_TENANT_REQUIRED', status: 403, title: 'Tenant required', description: 'Events and series belong to a tenant (x-auth-tenant, set by the gateway from the verified token).' },
  { code: 'ANALYTICS_EVENTS_INVALID', status: 422, title: 'Every event is invalid', description: 'No event of the request passed validation; `errors` names each one (`index`, `id`, `pointer`, `detail`). Nothing was accepted.' },
  { code: 'ANALYTICS_SERIES_INVALID', status: 422, title: 'Invalid series query', description: '`from` must precede `to`, the span must fit SERIES_MAX_BUCKETS buckets, and sum/avg/min/max need a `field` (`reason`).' },
  { code: 'ANALYTICS_INGEST_UNAVAILABLE', status: 503, title: 'Ingestion unavailable', description: 'Kafka did not acknowledge the accepted events; nothing of this request is stored. Retry with the same event ids (duplicates are dropped).' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(ANALYTICS_ERROR_CODES);

export type AnalyticsErrorCode = (typeof ANALYTICS_ERROR_CODES)[number]['code'];

export function analyticsError(code: AnalyticsErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  const info = ANALYTICS_ERROR_CODES.find((c) => c.code === code)!;
  return new AppError(code, message, { status: info.status, ...(extensions ? { extensions } : {}) });
}
