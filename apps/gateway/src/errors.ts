/**
 * Error codes owned by the gateway, registered once at import. Each code means
 * one thing forever; the kit's problem handler turns them into problem+json.
 * The token refusals (TOKEN_MISSING, TOKEN_INVALID, ROLE_MISSING,
 * AUTH_UNAVAILABLE) are the service kit's, with its verifier.
 */
import { AppError, registerErrorCodes, type AppErrorOptions } from '@bulwark/errors';

export const GATEWAY_ERROR_CODES = [
  { code: 'ROUTES_FILE_INVALID', status: 500, title: 'Invalid routes file', description: 'The routes file is unreadable or fails validation; the gateway refuses to start and names each route and field.' },
  { code: 'GATEWAY_ROUTE_NOT_FOUND', status: 404, title: 'No gateway route', description: 'No route of the routes file matches the path (after version resolution).' },
  { code: 'GATEWAY_METHOD_NOT_ALLOWED', status: 405, title: 'Method not allowed', description: 'The route exists but not for this method; `Allow` lists the methods.' },
  { code: 'GATEWAY_BODY_TOO_LARGE', status: 413, title: 'Request body too large', description: 'The request body exceeds the route limit (`limitBytes`); nothing was forwarded.' },
  { code: 'GATEWAY_BAD_REQUEST', status: 400, title: 'Bad request', description: 'The request is malformed (e.g. invalid header syntax); nothing was forwarded.' },
  { code: 'TENANT_MISSING', status: 403, title: 'No tenant in the token', description: 'The route acts on the caller\'s tenant, taken from its token, and the token names none.' },
  { code: 'VERSION_UNKNOWN', status: 400, title: 'Unknown API version', description: 'The version in the path or `Accept-Version` is not served; `knownVersions` lists those that are.' },
  { code: 'VERSION_RETIRED', status: 410, title: 'API version retired', description: 'This version of the route is retired; use `successor` (also in `Link`).' },
  { code: 'UPSTREAM_TIMEOUT', status: 504, title: 'Upstream timeout', description: 'The upstream did not answer within the route timeout; the request may or may not have taken effect.' },
  { code: 'UPSTREAM_UNAVAILABLE', status: 502, title: 'Upstream unavailable', description: 'The upstream could not be reached or failed mid-response.' },
  { code: 'CIRCUIT_OPEN', status: 503, title: 'Upstream circuit open', description: 'Recent calls to the upstream failed too often; calls are refused until a probe succeeds. Retry after `Retry-After`.' },
  { code: 'BULKHEAD_FULL', status: 503, title: 'Upstream at capacity', description: 'The upstream has its maximum of concurrent requests in flight; retry after `Retry-After`.' },
  { code: 'CORS_ORIGIN_REFUSED', status: 403, title: 'Origin not allowed', description: 'A CORS preflight came from an origin that is not configured.' },
] as const;

registerErrorCodes(GATEWAY_ERROR_CODES);

export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number]['code'];

/** An AppError for one of the gateway's codes, with its registered status. */
export function gatewayError(code: GatewayErrorCode, message: string, options: Omit<AppErrorOptions, 'status'> = {}): AppError {
  const info = GATEWAY_ERROR_CODES.find((c) => c.code === code)!;
  return new AppError(code, message, { status: info.status, ...options });
}
