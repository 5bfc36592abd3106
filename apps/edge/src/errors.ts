/**
 * Error codes of the edge cache, registered once at import. Each code means
 * one thing forever; the service kit maps them to problem+json.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const EDGE_ERROR_CODES = [
  { code: 'EDGE_ORIGIN_UNAVAILABLE', status: 502, title: 'Origin unavailable', description: 'The origin (the gateway) could not be reached and no stored copy may be served (none, or past its stale-if-error window).' },
  { code: 'EDGE_ORIGIN_TIMEOUT', status: 504, title: 'Origin timed out', description: 'The origin did not answer within ORIGIN_TIMEOUT_MS and no stored copy may be served.' },
  { code: 'EDGE_PURGE_UNCONFIGURED', status: 503, title: 'Purge API not configured', description: 'JWKS_URL and JWT_ISSUER are not set, so no service token can be verified; purge through Kafka instead.' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(EDGE_ERROR_CODES);

export type EdgeErrorCode = (typeof EDGE_ERROR_CODES)[number]['code'];

export function edgeError(code: EdgeErrorCode, message: string, options: { extensions?: Record<string, unknown>; cause?: unknown } = {}): AppError {
  const info = EDGE_ERROR_CODES.find((c) => c.code === code)!;
  return new AppError(code, message, { status: info.status, ...options });
}
