/**
 * Thin routes: validated input, one use case, the answer. Token answers are
 * `Cache-Control: no-store`. The client address used for throttling is
 * Express's `req.ip` (TRUST_PROXY_HOPS decides how many forwarding proxies
 * are believed).
 */
import type { Request } from 'express';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { verifyAccessToken } from '../domain/access-tokens.ts';
import { addAddress, getAddresses, removeAddress, replaceAddress } from '../domain/addresses.ts';
import { confirmPasswordReset, getProfile, patchProfile, registerAccount, requestPasswordReset, resendVerification, verifyEmail } from '../domain/accounts.ts';
import type { IdentityContext } from '../domain/context.ts';
import { confirmTotpEnrolment, disableTotp, startTotpEnrolment, totpStatus } from '../domain/second-factor.ts';
import { login, logout, refresh } from '../domain/sessions.ts';
import {
  AcceptedResponse,
  AddressBody,
  AddressListResponse,
  AddressParams,
  AddressResponse,
  AccountAddressBody,
  JwksResponse,
  LoginBody,
  PatchMeBody,
  ProfileResponse,
  RecoveryCodesResponse,
  RefreshBody,
  RegisterBody,
  ResetConfirmBody,
  TokenResponse,
  TotpCodeBody,
  TotpConfirmBody,
  TotpEnrolmentResponse,
  TotpStatusResponse,
  VerifiedResponse,
  VerifyBody,
} from './schemas.ts';

const NO_STORE = { 'cache-control': 'no-store' };
const ACCEPTED = { status: 'accepted' as const };
const BEARER = [{ name: 'authorization', required: true, description: 'Bearer access token issued by POST /v1/sessions.' }] as const;
const PRIVATE = { 'cache-control': 'private, no-store' };

function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export function registerRoutes(r: RouteRegistrar, ctx: IdentityContext): void {
  r.get('/.well-known/jwks.json', {
    summary: 'The JSON Web Key Set that verifies access tokens (ES256)',
    responses: { 200: JwksResponse },
    handler: () => ({ status: 200, body: ctx.ring.jwks() as never, headers: { 'cache-control': 'public, max-age=300' } }),
  });

  r.post('/v1/accounts', {
    summary: 'Register an account in a tenant; a verification token is emailed (202 whether or not the email already has an account)',
    errors: ['IDENTITY_PASSWORD_TOO_WEAK', 'IDENTITY_TENANT_UNKNOWN'],
    body: RegisterBody,
    responses: { 202: AcceptedResponse },
    handler: async ({ body }) => {
      await registerAccount(ctx, body);
      return { status: 202, body: ACCEPTED };
    },
  });
  r.post('/v1/accounts/verify', {
    summary: 'Verify the email address with the emailed token (single use, expires)',
    errors: ['IDENTITY_ONE_TIME_TOKEN_INVALID'],
    body: VerifyBody,
    responses: { 200: VerifiedResponse },
    handler: async ({ body }) => {
      await verifyEmail(ctx, body.token);
      return { status: 200, body: { verified: true as const } };
    },
  });
  r.post('/v1/accounts/verify/resend', {
    summary: 'Email a new verification token to an unverified account (202 in every case)',
    body: AccountAddressBody,
    responses: { 202: AcceptedResponse },
    handler: async ({ body }) => {
      await resendVerification(ctx, body);
      return { status: 202, body: ACCEPTED };
    },
  });

  r.post('/v1/sessions', {
    summary: 'Log in with tenant, email and password → access token and refresh token (401 without saying why; 429 when throttled or locked)',
    errors: ['IDENTITY_INVALID_CREDENTIALS', 'IDENTITY_LOGIN_LOCKED', 'IDENTITY_EMAIL_NOT_VERIFIED', 'IDENTITY_SECOND_FACTOR_REQUIRED', 'IDENTITY_SECOND_FACTOR_INVALID', 'IDENTITY_SIGNING_KEY_UNAVAILABLE', 'RATE_LIMITED', 'RATE_LIMIT_UNAVAILABLE'],
    body: LoginBody,
    responses: { 201: TokenResponse },
    handler: async ({ body, req }) => ({ status: 201, body: await login(ctx, body, clientIp(req)), headers: NO_STORE }),
  });
  r.post('/v1/sessions/refresh', {
    summary: 'Exchange the refresh token for a new pair; a refresh token works once, and a reused one revokes the session',
    errors: ['IDENTITY_REFRESH_TOKEN_INVALID', 'IDENTITY_SIGNING_KEY_UNAVAILABLE'],
    body: RefreshBody,
    responses: { 200: TokenResponse },
    handler: async ({ body }) => ({ status: 200, body: await refresh(ctx, body.refreshToken), headers: NO_STORE }),
  });
  r.post('/v1/sessions/logout', {
    summary: 'Revoke the session of the refresh token (every token of its family); 204 also for unknown tokens',
    body: RefreshBody,
    responses: { 204: null },
    handler: async ({ body }) => {
      await logout(ctx, body.refreshToken);
      return { status: 204 };
    },
  });

  r.post('/v1/password-resets', {
    summary: 'Email a password reset token (202 in every case)',
    body: AccountAddressBody,
    responses: { 202: AcceptedResponse },
    handler: async ({ body }) => {
      await requestPasswordReset(ctx, body);
      return { status: 202, body: ACCEPTED };
    },
  });
  r.post('/v1/password-resets/confirm', {
    summary: 'Set a new password with the reset token: revokes every session and lifts login locks',
    errors: ['IDENTITY_ONE_TIME_TOKEN_INVALID', 'IDENTITY_PASSWORD_TOO_WEAK'],
    body: ResetConfirmBody,
    responses: { 204: null },
    handler: async ({ body }) => {
      await confirmPasswordReset(ctx, body);
      return { status: 204 };
    },
  });

  r.get('/v1/me', {
    summary: "The caller's profile (bearer token of a live session)",
    errors: ['IDENTITY_UNAUTHENTICATED'],
    headers: BEARER,
    responses: { 200: ProfileResponse },
    handler: async ({ req }) => ({ status: 200, body: await getProfile(ctx, await verifyAccessToken(ctx.ring, ctx.tokens, req.get('authorization'))), headers: { 'cache-control': 'private, no-store' } }),
  });
  r.patch('/v1/me', {
    summary: "Change the caller's profile (display name)",
    errors: ['IDENTITY_UNAUTHENTICATED'],
    headers: BEARER,
    body: PatchMeBody,
    responses: { 200: ProfileResponse },
    handler: async ({ req, body }) => ({ status: 200, body: await patchProfile(ctx, await verifyAccessToken(ctx.ring, ctx.tokens, req.get('authorization')), body), headers: { 'cache-control': 'private, no-store' } }),
  });

  const claimsOf = (req: Request) => verifyAccessToken(ctx.ring, ctx.tokens, req.get('authorization'));
  r.get('/v1/me/addresses', {
    summary: "The caller's saved addresses, oldest first",
    errors: ['IDENTITY_UNAUTHENTICATED'],
    headers: BEARER,
    responses: { 200: AddressListResponse },
    handler: async ({ req }) => ({ status: 200, body: { addresses: await getAddresses(ctx, await claimsOf(req)) }, headers: PRIVATE }),
  });
  r.post('/v1/me/addresses', {
    summary: 'Save an address (at most 20; the first one is the default)',
    errors: ['IDENTITY_UNAUTHENTICATED', 'IDENTITY_ADDRESS_LIMIT'],
    headers: BEARER,
    body: AddressBody,
    responses: { 201: AddressResponse },
    handler: async ({ req, body }) => {
      const address = await addAddress(ctx, await claimsOf(req), body);
      return { status: 201, body: address, headers: { ...PRIVATE, location: `/v1/me/addresses/${address.id}` } };
    },
  });
  r.put('/v1/me/addresses/:id', {
    summary: 'Replace a saved address',
    errors: ['IDENTITY_UNAUTHENTICATED', 'IDENTITY_ADDRESS_NOT_FOUND'],
    headers: BEARER,
    params: AddressParams,
    body: AddressBody,
    responses: { 200: AddressResponse },
    handler: async ({ req, params, body }) => ({ status: 200, body: await replaceAddress(ctx, await claimsOf(req), params.id, body), headers: PRIVATE }),
  });
  r.delete('/v1/me/addresses/:id', {
    summary: 'Delete a saved address',
    errors: ['IDENTITY_UNAUTHENTICATED', 'IDENTITY_ADDRESS_NOT_FOUND'],
    headers: BEARER,
    params: AddressParams,
    responses: { 204: null },
    handler: async ({ req, params }) => {
      await removeAddress(ctx, await claimsOf(req), params.id);
      return { status: 204 };
    },
  });

  r.get('/v1/me/totp', {
    summary: 'Whether two-step verification (TOTP) is on, pending, required by the tenant, and how many recovery codes are left',
    errors: ['IDENTITY_UNAUTHENTICATED'],
    headers: BEARER,
    responses: { 200: TotpStatusResponse },
    handler: async ({ req }) => ({ status: 200, body: await totpStatus(ctx, await claimsOf(req)), headers: PRIVATE }),
  });
  r.post('/v1/me/totp', {
    summary: 'Start a TOTP enrolment: a new secret, in force only after POST /v1/me/totp/confirm',
    errors: ['IDENTITY_UNAUTHENTICATED', 'IDENTITY_TOTP_ALREADY_ENABLED'],
    headers: BEARER,
    responses: { 201: TotpEnrolmentResponse },
    handler: async ({ req }) => ({ status: 201, body: await startTotpEnrolment(ctx, await claimsOf(req), ctx.totpIssuer), headers: PRIVATE }),
  });
  r.post('/v1/me/totp/confirm', {
    summary: 'Confirm the enrolment with a current code; answers ten single-use recovery codes (shown once)',
    errors: ['IDENTITY_UNAUTHENTICATED', 'IDENTITY_TOTP_NOT_ENROLLING', 'IDENTITY_SECOND_FACTOR_INVALID', 'IDENTITY_LOGIN_LOCKED'],
    headers: BEARER,
    body: TotpConfirmBody,
    responses: { 200: RecoveryCodesResponse },
    handler: async ({ req, body }) => ({ status: 200, body: await confirmTotpEnrolment(ctx, await claimsOf(req), body.code, clientIp(req)), headers: PRIVATE }),
  });
  r.post('/v1/me/totp/disable', {
    summary: 'Turn two-step verification off with a current code or a recovery code (not when the tenant requires it)',
    errors: ['IDENTITY_UNAUTHENTICATED', 'IDENTITY_TOTP_NOT_ENROLLING', 'IDENTITY_TOTP_REQUIRED_BY_TENANT', 'IDENTITY_SECOND_FACTOR_INVALID', 'IDENTITY_LOGIN_LOCKED'],
    headers: BEARER,
    body: TotpCodeBody,
    responses: { 204: null },
    handler: async ({ req, body }) => {
      await disableTotp(ctx, await claimsOf(req), body.code, clientIp(req));
      return { status: 204 };
    },
  });
}
