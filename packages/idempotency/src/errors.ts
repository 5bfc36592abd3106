/**
 * Error codes of @bulwark/idempotency, registered once at import. The
 * middleware answers them itself as problem+json (RFC 9457), so they look
 * the same in a service-kit app and in a bare Express app.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const IDEMPOTENCY_ERROR_CODES = [
  {
    code: 'IDEMPOTENCY_KEY_MISSING',
    status: 400,
    title: 'Idempotency-Key missing',
    description: 'The route requires an Idempotency-Key header on unsafe methods; send a unique key (e.g. a UUID) and reuse it for retries of the same request.',
  },
  {
    code: 'IDEMPOTENCY_KEY_INVALID',
    status: 400,
    title: 'Idempotency-Key invalid',
    description: 'The Idempotency-Key header is not 1-255 visible ASCII characters (an sf-string, quoted or not).',
  },
  {
    code: 'IDEMPOTENCY_KEY_REUSED',
    status: 422,
    title: 'Idempotency-Key reused with another request',
    description: 'The key was already used for a request with a different method, path or body; use a new key for a new request.',
  },
  {
    code: 'IDEMPOTENCY_KEY_IN_FLIGHT',
    status: 409,
    title: 'Request with this Idempotency-Key in progress',
    description: 'A request with the same key is being processed right now; retry after Retry-After seconds to get its response replayed.',
  },
  {
    code: 'IDEMPOTENCY_STORE_FAILED',
    status: 503,
    title: 'Idempotency store unavailable',
    description: 'The key or the response could not be recorded (PostgreSQL error); nothing was committed, retry with the same key.',
  },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(IDEMPOTENCY_ERROR_CODES);

export type IdempotencyErrorCode = (typeof IDEMPOTENCY_ERROR_CODES)[number]['code'];

export function idempotencyError(code: IdempotencyErrorCode, message: string, extra: { retryAfterSeconds?: number; cause?: unknown; extensions?: Record<string, unknown> } = {}): AppError {
  const info = IDEMPOTENCY_ERROR_CODES.find((c) => c.code === code)!;
  return new AppError(code, message, { status: info.status, ...extra });
}
