/**
 * Error codes of the identity service, registered once at import. Each code
 * means one thing forever; the service kit maps them to problem+json. Codes
 * about credentials never say whether an account exists.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const IDENTITY_ERROR_CODES = [
  {
    code: 'IDENTITY_INVALID_CREDENTIALS',
    status: 401,
    title: 'Invalid credentials',
    description: 'The tenant, email and password do not match an account. The same answer whether the tenant or account exists or not.',
  },
  {
    code: 'IDENTITY_LOGIN_LOCKED',
    status: 429,
    title: 'Login temporarily locked',
    description: 'Too many failed logins for this account from this client address; retry after Retry-After (the lock doubles per failure, capped at LOCKOUT_MAX_SECONDS; a password reset lifts it). Logins from other addresses are not affected.',
  },
  {
    code: 'IDENTITY_EMAIL_NOT_VERIFIED',
    status: 403,
    title: 'Email not verified',
    description: 'The password is correct but the email address is not verified yet; verify it with the emailed token (POST /v1/accounts/verify) or request a new one.',
  },
  {
    code: 'IDENTITY_REFRESH_TOKEN_INVALID',
    status: 401,
    title: 'Invalid refresh token',
    description: 'The refresh token is unknown, expired, of a revoked session, or was used before (a reused token revokes its whole session). Log in again.',
  },
  {
    code: 'IDENTITY_ONE_TIME_TOKEN_INVALID',
    status: 400,
    title: 'Invalid or expired token',
    description: 'The verification or password-reset token is unknown, expired or already used. Request a new one.',
  },
  {
    code: 'IDENTITY_PASSWORD_TOO_WEAK',
    status: 422,
    title: 'Password too weak',
    description: 'The password is shorter than 12 characters or among the commonly used passwords (`reasons`). Nothing was stored.',
  },
  {
    code: 'IDENTITY_TENANT_UNKNOWN',
    status: 422,
    title: 'Unknown tenant',
    description: 'No tenant with this slug exists. Nothing was stored.',
  },
  {
    code: 'IDENTITY_UNAUTHENTICATED',
    status: 401,
    title: 'Authentication required',
    description: 'The request needs a valid access token of a live session (`Authorization: Bearer …`); it is missing, invalid, expired, or its session was revoked.',
  },
  {
    code: 'IDENTITY_ADDRESS_NOT_FOUND',
    status: 404,
    title: 'Address not found',
    description: 'The account has no saved address with this id.',
  },
  {
    code: 'IDENTITY_ADDRESS_LIMIT',
    status: 422,
    title: 'Too many addresses',
    description: 'An account keeps at most `max` saved addresses; delete one first. Nothing was stored.',
  },
  {
    code: 'IDENTITY_SIGNING_KEY_UNAVAILABLE',
    status: 503,
    title: 'Signing key unavailable',
    description: 'This replica could not read the key ring recently enough to sign with confidence; retry after Retry-After.',
  },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(IDENTITY_ERROR_CODES);

export type IdentityErrorCode = (typeof IDENTITY_ERROR_CODES)[number]['code'];

/** The one way this service raises its codes. */
export function identityError(
  code: IdentityErrorCode,
  message: string,
  options: { extensions?: Record<string, unknown>; retryAfterSeconds?: number; headers?: Record<string, string>; cause?: unknown } = {},
): AppError {
  const status = IDENTITY_ERROR_CODES.find((c) => c.code === code)!.status;
  return new AppError(code, message, { status, ...options });
}
