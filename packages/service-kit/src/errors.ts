/**
 * Error codes owned by the service kit. Registered once at import; each code
 * means one thing forever (see @bulwark/errors). The HTTP layer maps these, and
 * any AppError from other packages, to problem+json through `toProblem`.
 */
import { AppError, registerErrorCodes } from '@bulwark/errors';

export const KIT_ERROR_CODES = [
  { code: 'CONFIG_INVALID', status: 500, title: 'Invalid configuration', description: 'One or more environment keys are missing or invalid; the process refuses to start and lists every key.' },
  { code: 'REQUEST_VALIDATION_FAILED', status: 400, title: 'Request validation failed', description: 'Path parameters, query or body did not match the route schema, or a string in them holds U+0000 or an unpaired surrogate (refused for every route); `issues` lists each problem with its location and path.' },
  { code: 'BAD_REQUEST', status: 400, title: 'Bad request', description: 'The request could not be read (e.g. an aborted or undecodable body, or a path segment that is not valid percent-encoded UTF-8).' },
  { code: 'MALFORMED_JSON', status: 400, title: 'Malformed JSON', description: 'The request body is not valid JSON; fix the payload.' },
  { code: 'JSON_TOO_DEEP', status: 400, title: 'JSON nested too deeply', description: 'Arrays and objects in the request nest deeper than the service limit (`maxDepth`, config `BODY_MAX_DEPTH`); no contract needs that depth.' },
  { code: 'MALFORMED_REQUEST', status: 400, title: 'Malformed request', description: 'The request line or headers could not be parsed (invalid syntax or characters); nothing was processed and the connection is closed.' },
  { code: 'HEADERS_TOO_LARGE', status: 431, title: 'Request header fields too large', description: 'The request line and headers exceed the server limit (`maxHeaderBytes`, node\'s --max-http-header-size); nothing was processed and the connection is closed.' },
  { code: 'REQUEST_TIMEOUT', status: 408, title: 'Request timeout', description: 'The request (headers or body) did not arrive within the server\'s time limit; the connection is closed.' },
  { code: 'BODY_TOO_LARGE', status: 413, title: 'Request body too large', description: 'The request body exceeds the service limit (`limitBytes`); send less.' },
  { code: 'UNSUPPORTED_MEDIA_TYPE', status: 415, title: 'Unsupported media type', description: 'The route accepts `application/json` bodies only (UTF-8).' },
  { code: 'ROUTE_NOT_FOUND', status: 404, title: 'Route not found', description: 'No route matches the path; see /openapi.json.' },
  { code: 'METHOD_NOT_ALLOWED', status: 405, title: 'Method not allowed', description: 'The path exists but not for this method; the `Allow` header lists the methods it supports.' },
  { code: 'NOT_READY', status: 503, title: 'Service not ready', description: 'A dependency check failed or timed out, or the service is starting or draining; `failing` lists the dependencies.' },
] as const;

registerErrorCodes(KIT_ERROR_CODES);

export type KitErrorCode = (typeof KIT_ERROR_CODES)[number]['code'];

/** Builds an AppError for one of the kit's own codes with the registered status. */
export function kitError(code: KitErrorCode, message: string, extra: { extensions?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {}): AppError {
  const info = KIT_ERROR_CODES.find((c) => c.code === code)!;
  return new AppError(code, message, { status: info.status, ...extra });
}
