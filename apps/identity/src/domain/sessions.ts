/**
 * Session use cases: password login, refresh-token rotation with reuse
 * detection, logout. A session is a refresh-token family; its access
 * tokens carry its id as `sid`.
 *
 * Login: rate limits → lock check → argon2 verify (a dummy verify for
 * unknown accounts) → on failure count it against the (account, IP) pair →
 * the second factor when the account has one (its failures count against
 * the same pair) → forget the pair and open the session. Every password
 * failure is the same 401.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction, type Queryable } from '@bulwark/db';
import { identityError } from '../errors.ts';
import { findTenantById, findTenantBySlug, findUserByEmail, findUserById, upgradePasswordHash, type User } from '../store/accounts-store.ts';
import { recordSecurityEvent } from './security-events.ts';
import { insertRefreshToken, insertSession, lockRefreshToken, markRotated, revokeSession } from '../store/sessions-store.ts';
import { issueAccessToken } from './access-tokens.ts';
import { timed, type IdentityContext } from './context.ts';
import { decideRefresh } from './refresh-family.ts';
import { hashToken, newOpaqueToken, normalizeEmail } from './secrets.ts';
import { assertSecondFactor, enrolmentRequired, ENROLMENT_SCOPE } from './second-factor.ts';
import type { LockoutKey as LockoutPair } from '../store/lockout-store.ts';

export interface IssuedTokens {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  refreshExpiresAt: string;
  sessionId: string;
}

const invalidCredentials = () => identityError('IDENTITY_INVALID_CREDENTIALS', 'the tenant, email or password is wrong');
const invalidRefresh = () => identityError('IDENTITY_REFRESH_TOKEN_INVALID', 'the refresh token is not valid; log in again');

async function tokensFor(ctx: IdentityContext, tx: Queryable, user: User, sessionId: string, generation: number): Promise<IssuedTokens> {
  const refreshToken = newOpaqueToken();
  const { expiresAt } = await insertRefreshToken(tx, { hash: hashToken(refreshToken), sessionId, generation, ttlSeconds: ctx.lifetimes.refreshTokenSeconds });
  // Until an account of a tenant that requires TOTP has enrolled, its tokens carry no roles (second-factor.ts).
  const restricted = await enrolmentRequired(ctx, tx, user);
  // Signed inside the transaction: a signing failure (503) leaves no session behind.
  const access = await issueAccessToken(ctx.ring, ctx.tokens, { sub: user.id, tenant: user.tenantId, roles: restricted ? [] : user.roles, sid: sessionId }, restricted ? ENROLMENT_SCOPE : undefined);
  return { accessToken: access.token, tokenType: 'Bearer', expiresIn: access.expiresIn, refreshToken, refreshExpiresAt: expiresAt.toISOString(), sessionId };
}

/**
 * The password step every login shares (this API and the OIDC login page):
 * rate limits, lock check, argon2 verify, failure counting, hash upgrade,
 * verified-email rule. Returns the account and the (tenant, email, IP) pair
 * its lockout is kept under, so a second factor counts failures alike.
 */
export async function authenticatePassword(ctx: IdentityContext, input: { tenant: string; email: string; password: string }, ip: string): Promise<{ user: User; pair: LockoutPair }> {
  const email = normalizeEmail(input.email);
  try {
    await ctx.throttle.admitLogin(ip, input.tenant, email);
  } catch (err) {
    ctx.metrics.logins.inc({ outcome: 'throttled' });
    throw err;
  }
  const tenant = await findTenantBySlug(ctx.pool, input.tenant);
  if (!tenant) {
    await timed(ctx, 'verify', () => ctx.hasher.verifyNothing(input.password));
    ctx.metrics.logins.inc({ outcome: 'invalid' });
    throw invalidCredentials();
  }
  const pair = { tenantId: tenant.id, email, source: ip };
  try {
    await ctx.throttle.assertNotLocked(ctx.pool, pair);
  } catch (err) {
    ctx.metrics.logins.inc({ outcome: 'locked' });
    throw err;
  }
  const user = await findUserByEmail(ctx.pool, tenant.id, email);
  const ok = user ? await timed(ctx, 'verify', () => ctx.hasher.verify(user.passwordHash, input.password)) : (await timed(ctx, 'verify', () => ctx.hasher.verifyNothing(input.password)), false);
  if (!user || !ok) {
    await ctx.throttle.recordFailure(ctx.pool, pair);
    ctx.metrics.logins.inc({ outcome: 'invalid' });
    throw invalidCredentials();
  }
  if (ctx.hasher.needsRehash(user.passwordHash)) {
    const upgraded = await timed(ctx, 'hash', () => ctx.hasher.hash(input.password));
    await upgradePasswordHash(ctx.pool, user.id, user.passwordHash, upgraded);
  }
  if (ctx.requireVerifiedEmail && !user.emailVerified) {
    ctx.metrics.logins.inc({ outcome: 'unverified' });
    throw identityError('IDENTITY_EMAIL_NOT_VERIFIED', 'verify the email address before logging in');
  }
  return { user, pair };
}

export async function login(ctx: IdentityContext, input: { tenant: string; email: string; password: string; otp?: string | undefined }, ip: string): Promise<IssuedTokens> {
  const { user, pair } = await authenticatePassword(ctx, input, ip);
  await assertSecondFactor(ctx, user, input.otp, pair);
  const tokens = await withTransaction(ctx.pool, async (tx) => {
    const sessionId = randomUUID();
    await insertSession(tx, { id: sessionId, userId: user.id, maxAgeSeconds: ctx.lifetimes.sessionMaxAgeSeconds });
    await recordSecurityEvent(tx, 'login-succeeded', { accountId: user.id, tenant: user.tenantId, sessionId, method: input.otp ? 'password+totp' : 'password', ip });
    return tokensFor(ctx, tx, user, sessionId, 1);
  });
  ctx.metrics.logins.inc({ outcome: 'success' });
  return tokens;
}

/**
 * Exchanges the family's newest refresh token for a new pair (roles and
 * tenant re-read, so a role change applies at the next refresh). A token
 * that was already exchanged revokes the family (committed) and is refused.
 */
export async function refresh(ctx: IdentityContext, refreshToken: string): Promise<IssuedTokens> {
  const hash = hashToken(refreshToken);
  const result = await withTransaction(ctx.pool, async (tx) => {
    const state = await lockRefreshToken(tx, hash);
    const decision = decideRefresh(state, state?.session, state?.now ?? new Date());
    if (decision.action === 'refuse') return { outcome: 'refused' as const };
    if (decision.action === 'revoke-family') {
      await revokeSession(tx, state!.sessionId, 'reuse');
      return { outcome: 'reuse' as const };
    }
    const user = await findUserById(tx, state!.userId);
    if (!user || !(await findTenantById(tx, user.tenantId))) return { outcome: 'refused' as const };
    await markRotated(tx, hash);
    return { outcome: 'rotated' as const, tokens: await tokensFor(ctx, tx, user, state!.sessionId, state!.generation + 1) };
  });
  ctx.metrics.refreshes.inc({ outcome: result.outcome });
  if (result.outcome === 'reuse') ctx.metrics.sessionsRevoked.inc({ reason: 'reuse' });
  if (result.outcome !== 'rotated') throw invalidRefresh();
  return result.tokens;
}

/** Revokes the family of the token (any generation). Unknown tokens are ignored: logout always succeeds. */
export async function logout(ctx: IdentityContext, refreshToken: string): Promise<void> {
  const revoked = await withTransaction(ctx.pool, async (tx) => {
    const state = await lockRefreshToken(tx, hashToken(refreshToken));
    if (!state || state.session.revokedAt !== null) return false;
    await revokeSession(tx, state.sessionId, 'logout');
    return true;
  });
  if (revoked) ctx.metrics.sessionsRevoked.inc({ reason: 'logout' });
}
