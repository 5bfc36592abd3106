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
    description: 'The verification, password-reset or invitation token is unknown, expired, revoked or already used. Request a new one.',
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
    code: 'IDENTITY_SECOND_FACTOR_REQUIRED',
    status: 401,
    title: 'Second factor required',
    description: 'The password is correct and the account uses two-step verification: repeat the login with `otp` (the 6-digit code of the authenticator app, or a recovery code).',
  },
  {
    code: 'IDENTITY_SECOND_FACTOR_INVALID',
    status: 401,
    title: 'Invalid second factor',
    description: 'The TOTP code is wrong, outside its 30-second window (±1), or was used already; or the recovery code is unknown or spent. Counts as a failed login of this address (the lockout applies).',
  },
  {
    code: 'IDENTITY_TOTP_ALREADY_ENABLED',
    status: 409,
    title: 'Two-step verification already on',
    description: 'The account already has a confirmed TOTP factor; disable it (with a code) before enrolling another device.',
  },
  {
    code: 'IDENTITY_TOTP_NOT_ENROLLING',
    status: 409,
    title: 'No TOTP enrolment pending',
    description: 'Confirm needs a pending enrolment (POST /v1/me/totp); disable needs a confirmed factor.',
  },
  {
    code: 'IDENTITY_TOTP_REQUIRED_BY_TENANT',
    status: 409,
    title: 'Two-step verification required by the organisation',
    description: 'The tenant enforces TOTP: it cannot be turned off, and until it is enrolled the account gets tokens without roles (scope `totp-enrolment`).',
  },
  {
    code: 'IDENTITY_TOTP_ENROLMENT_REQUIRED',
    status: 403,
    title: 'Two-step verification enrolment required',
    description: 'The tenant enforces TOTP and this account has none: enrol through POST /v1/me/totp and confirm before using other routes or signing in to applications.',
  },
  {
    code: 'IDENTITY_OAUTH_REQUEST_INVALID',
    status: 400,
    title: 'Invalid OAuth/OIDC request',
    description: 'The OIDC provider refused the request (`error` and `error_description` carry the OAuth error, e.g. invalid_redirect_uri, invalid_client, invalid_grant for a PKCE mismatch). Errors that may be returned to the client are redirected to its redirect_uri instead.',
  },
  {
    code: 'IDENTITY_INTERACTION_INVALID',
    status: 400,
    title: 'Sign-in page expired or forged',
    description: 'The login or consent form does not belong to this browser\'s sign-in (missing or expired interaction cookie, wrong CSRF token, unknown step); start again from the application.',
  },
  {
    code: 'IDENTITY_ORGANIZATION_NOT_FOUND',
    status: 404,
    title: 'Organisation not found',
    description: 'The caller is not a member of this organisation (it may not exist): a token reaches only the organisation of its tenant.',
  },
  {
    code: 'IDENTITY_ORGANIZATION_FORBIDDEN',
    status: 403,
    title: 'Not allowed in this organisation',
    description: 'The caller\'s organisation role (`role`) does not allow this: members read, owners and admins manage members and invitations, only owners grant or take the owner role.',
  },
  {
    code: 'IDENTITY_ORGANIZATION_SLUG_TAKEN',
    status: 409,
    title: 'Organisation slug taken',
    description: 'Another organisation has this slug; choose another. Nothing was stored.',
  },
  {
    code: 'IDENTITY_LAST_OWNER',
    status: 409,
    title: 'Last owner',
    description: 'The organisation keeps at least one owner: make another member owner before changing this one\'s role.',
  },
  {
    code: 'IDENTITY_MEMBER_NOT_FOUND',
    status: 404,
    title: 'Member not found',
    description: 'The organisation has no member with this id.',
  },
  {
    code: 'IDENTITY_INVITATION_NOT_FOUND',
    status: 404,
    title: 'Invitation not found',
    description: 'The organisation has no pending invitation with this id.',
  },
  {
    code: 'IDENTITY_INVITATION_THROTTLED',
    status: 429,
    title: 'Too many emails to this address',
    description: 'The address got several account emails recently (the per-address mail limit); retry after Retry-After.',
  },
  {
    code: 'IDENTITY_ACCOUNT_NOT_FOUND',
    status: 404,
    title: 'Account not found',
    description: 'No account has this id (internal API for services: the account was deleted, or the id never was one).',
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
