/**
 * Account use cases: registration, email verification, password reset and
 * the profile. Answers that concern an email address never depend on
 * whether an account has it (registration and both "send me a token" calls
 * answer 202 alike); the emails go out after commit (MailOutbox).
 */
import { randomUUID } from 'node:crypto';
import { withTransaction, type Queryable } from '@bulwark/db';
import { identityError } from '../errors.ts';
import type { AccountMailKind } from '../mail/mailer.ts';
import { findTenantById, findTenantBySlug, findUserByEmail, findUserById, insertUser, markEmailVerified, setPasswordHash, updateProfile, type Tenant, type User } from '../store/accounts-store.ts';
import { forgetAccount } from '../store/lockout-store.ts';
import { revokeAccountPayloads } from '../store/oidc-store.ts';
import { consumeOneTimeToken, insertOneTimeToken, isSessionLive, revokeUserSessions, voidOneTimeTokens, type OneTimePurpose } from '../store/sessions-store.ts';
import type { AccessClaims } from './access-tokens.ts';
import { timed, type IdentityContext } from './context.ts';
import { checkPassword } from './password-rule.ts';
import { hashToken, newOpaqueToken, normalizeEmail } from './secrets.ts';

export interface Profile {
  id: string;
  tenant: Tenant;
  email: string;
  emailVerified: boolean;
  displayName: string | null;
  roles: string[];
  createdAt: string;
}

export function assertPasswordAllowed(password: string): void {
  const reasons = checkPassword(password);
  if (reasons.length > 0) throw identityError('IDENTITY_PASSWORD_TOO_WEAK', `the password is ${reasons.join(' and ')}`, { extensions: { reasons, minLength: 12 } });
}

async function tenantOrFail(db: Queryable, slug: string): Promise<Tenant> {
  const tenant = await findTenantBySlug(db, slug);
  if (!tenant) throw identityError('IDENTITY_TENANT_UNKNOWN', `no tenant ${slug}`, { extensions: { tenant: slug } });
  return tenant;
}

type AccountTokenKind = Exclude<AccountMailKind, 'invitation'>;
const PURPOSE: Record<AccountTokenKind, OneTimePurpose> = { 'verify-email': 'verify-email', 'reset-password': 'reset-password' };

/** Issues a one-time token (voiding older ones of the purpose) in `tx`; the mail is queued by the caller after commit. */
async function issueOneTimeToken(tx: Queryable, user: User, kind: AccountTokenKind, ttlSeconds: number): Promise<string> {
  const token = newOpaqueToken();
  await voidOneTimeTokens(tx, user.id, PURPOSE[kind]);
  await insertOneTimeToken(tx, { hash: hashToken(token), userId: user.id, purpose: PURPOSE[kind], ttlSeconds });
  return token;
}

function queueMail(ctx: IdentityContext, user: User, kind: AccountMailKind, token: string, ttlSeconds: number): void {
  ctx.mail.enqueue({ kind, tenantId: user.tenantId, to: user.email, token, expiresInMinutes: Math.round(ttlSeconds / 60), idempotencyKey: `identity:${kind}:${hashToken(token).toString('hex')}` });
}

export async function registerAccount(ctx: IdentityContext, input: { tenant: string; email: string; password: string; displayName?: string | undefined }): Promise<void> {
  assertPasswordAllowed(input.password);
  const tenant = await tenantOrFail(ctx.pool, input.tenant);
  const email = normalizeEmail(input.email);
  // Hashed whether or not the email is taken: the answer takes as long either way.
  const passwordHash = await timed(ctx, 'hash', () => ctx.hasher.hash(input.password));
  const roles = ctx.roles.adminEmails.has(`${tenant.slug}:${email}`) ? ctx.roles.admin : ctx.roles.customer;
  const ttl = ctx.lifetimes.verifyTokenSeconds;
  const created = await withTransaction(ctx.pool, async (tx) => {
    const user = await insertUser(tx, { id: randomUUID(), tenantId: tenant.id, email, passwordHash, displayName: input.displayName ?? null, roles });
    return user && { user, token: await issueOneTimeToken(tx, user, 'verify-email', ttl) };
  });
  if (created) {
    ctx.metrics.registrations.inc();
    queueMail(ctx, created.user, 'verify-email', created.token, ttl);
  }
}

/** Sends a new verification token to an unverified account (and nothing otherwise). */
export async function resendVerification(ctx: IdentityContext, input: { tenant: string; email: string }): Promise<void> {
  await sendAccountToken(ctx, input, 'verify-email', ctx.lifetimes.verifyTokenSeconds, (u) => !u.emailVerified);
}

export async function requestPasswordReset(ctx: IdentityContext, input: { tenant: string; email: string }): Promise<void> {
  await sendAccountToken(ctx, input, 'reset-password', ctx.lifetimes.resetTokenSeconds, () => true);
}

async function sendAccountToken(ctx: IdentityContext, input: { tenant: string; email: string }, kind: AccountTokenKind, ttl: number, wanted: (u: User) => boolean): Promise<void> {
  const email = normalizeEmail(input.email);
  const tenant = await findTenantBySlug(ctx.pool, input.tenant);
  const user = tenant && (await findUserByEmail(ctx.pool, tenant.id, email));
  if (!user || !wanted(user)) return;
  if (!(await ctx.throttle.admitMail(input.tenant, email))) {
    ctx.metrics.emails.inc({ kind, outcome: 'throttled' });
    return;
  }
  const token = await withTransaction(ctx.pool, (tx) => issueOneTimeToken(tx, user, kind, ttl));
  queueMail(ctx, user, kind, token, ttl);
}

export async function verifyEmail(ctx: IdentityContext, token: string): Promise<void> {
  await withTransaction(ctx.pool, async (tx) => {
    const userId = await consumeOneTimeToken(tx, hashToken(token), 'verify-email');
    if (!userId) throw identityError('IDENTITY_ONE_TIME_TOKEN_INVALID', 'the verification token is unknown, expired or used');
    await markEmailVerified(tx, userId);
  });
}

/**
 * Sets the new password, revokes every session of the account (their refresh
 * tokens stop working at once; access tokens run out within their TTL),
 * lifts every login lock of the account, and counts as email verification.
 */
export async function confirmPasswordReset(ctx: IdentityContext, input: { token: string; password: string }): Promise<void> {
  assertPasswordAllowed(input.password);
  const passwordHash = await timed(ctx, 'hash', () => ctx.hasher.hash(input.password));
  const revoked = await withTransaction(ctx.pool, async (tx) => {
    const userId = await consumeOneTimeToken(tx, hashToken(input.token), 'reset-password');
    if (!userId) throw identityError('IDENTITY_ONE_TIME_TOKEN_INVALID', 'the reset token is unknown, expired or used');
    const user = (await findUserById(tx, userId))!;
    await setPasswordHash(tx, userId, passwordHash, true);
    await voidOneTimeTokens(tx, userId, 'reset-password');
    await forgetAccount(tx, user.tenantId, user.email);
    // The OIDC provider's sessions, grants and tokens of the account end with identity's own.
    await revokeAccountPayloads(tx, userId);
    return revokeUserSessions(tx, userId, 'password-reset');
  });
  ctx.metrics.sessionsRevoked.inc({ reason: 'password-reset' }, revoked);
}

/** The token's account, if its session is still live; 401 otherwise. */
export async function liveUser(ctx: IdentityContext, claims: AccessClaims): Promise<User> {
  const user = (await isSessionLive(ctx.pool, claims.sid, claims.sub)) ? await findUserById(ctx.pool, claims.sub) : undefined;
  if (!user) throw identityError('IDENTITY_UNAUTHENTICATED', 'the session of this token has ended', { headers: { 'www-authenticate': 'Bearer error="invalid_token", error_description="session ended"' } });
  return user;
}

async function toProfile(ctx: IdentityContext, user: User): Promise<Profile> {
  const tenant = (await findTenantById(ctx.pool, user.tenantId))!;
  return { id: user.id, tenant, email: user.email, emailVerified: user.emailVerified, displayName: user.displayName, roles: user.roles, createdAt: user.createdAt };
}

/** The caller's profile; its session must still be live (identity checks revocation on its own routes). */
export async function getProfile(ctx: IdentityContext, claims: AccessClaims): Promise<Profile> {
  return toProfile(ctx, await liveUser(ctx, claims));
}

export async function patchProfile(ctx: IdentityContext, claims: AccessClaims, patch: { displayName?: string | null | undefined }): Promise<Profile> {
  await liveUser(ctx, claims);
  const user = await updateProfile(ctx.pool, claims.sub, patch.displayName === undefined ? {} : { displayName: patch.displayName });
  return toProfile(ctx, user!);
}
