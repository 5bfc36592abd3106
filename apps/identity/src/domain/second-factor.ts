/**
 * The TOTP second factor: enrolment with a confirm step, the check at login
 * (a TOTP code or a single-use recovery code), disabling, and the tenant's
 * rule. Secrets are sealed like the signing keys (key-sealing.ts, additional
 * data "totp:<user id>"). A wrong code counts as a failed login of the
 * (tenant, email, IP) pair, so the lockout bounds guessing; the pair is
 * forgotten only when the whole login succeeded.
 *
 * A tenant that requires TOTP still lets an account without one log in, to
 * enrol: its tokens carry no roles and the scope `totp-enrolment`, which only
 * identity's /v1/me routes accept (every other service needs a role).
 */
import { withTransaction, type Queryable } from '@bulwark/db';
import { identityError } from '../errors.ts';
import { findUserById, type User } from '../store/accounts-store.ts';
import type { LockoutKey } from '../store/lockout-store.ts';
import { acceptStep, countUnusedRecoveryCodes, deleteTotpFactor, findTotpFactor, putPendingFactor, replaceRecoveryCodes, tenantRequiresTotp, useRecoveryCode, type TotpFactor } from '../store/totp-store.ts';
import type { AccessClaims } from './access-tokens.ts';
import type { IdentityContext } from './context.ts';
import { hashToken } from './secrets.ts';
import { acceptCode, isRecoveryCodeShaped, newRecoveryCodes, newTotpSecret, normalizeRecoveryCode, totpUri } from './totp.ts';

export const ENROLMENT_SCOPE = 'totp-enrolment';

const aad = (userId: string) => `totp:${userId}`;

function openSecret(ctx: IdentityContext, factor: TotpFactor): string {
  if (factor.sealedWith !== ctx.sealer.fingerprint) throw identityError('IDENTITY_SIGNING_KEY_UNAVAILABLE', 'the TOTP secret is sealed with another KEY_ENCRYPTION_KEY', { retryAfterSeconds: 30 });
  return ctx.sealer.open(factor.secretSealed, aad(factor.userId));
}

/** Checks a TOTP code (each 30-second step once) or spends a recovery code. */
async function checkCode(ctx: IdentityContext, db: Queryable, factor: TotpFactor, code: string, confirm: boolean): Promise<'otp' | 'recovery' | undefined> {
  const trimmed = code.trim();
  const step = acceptCode(openSecret(ctx, factor), trimmed, ctx.ring.now());
  if (step !== undefined) return (await acceptStep(db, factor.userId, step, confirm)) ? 'otp' : undefined;
  if (!confirm && isRecoveryCodeShaped(trimmed) && (await useRecoveryCode(db, factor.userId, hashToken(normalizeRecoveryCode(trimmed))))) return 'recovery';
  return undefined;
}

/** Whether the account must enrol before it gets roles (its tenant requires TOTP and it has none). */
export async function enrolmentRequired(ctx: IdentityContext, db: Queryable, user: User): Promise<boolean> {
  if (!(await tenantRequiresTotp(db, user.tenantId))) return false;
  return !(await findTotpFactor(db, user.id))?.confirmed;
}

/**
 * After a correct password: when the account has a confirmed factor, the
 * code must be right (401 IDENTITY_SECOND_FACTOR_REQUIRED without one, 401
 * IDENTITY_SECOND_FACTOR_INVALID, counted, with a wrong one). Forgets the
 * lockout pair on success. Returns the authentication methods (RFC 8176).
 */
export async function assertSecondFactor(ctx: IdentityContext, user: User, code: string | undefined, pair: LockoutKey): Promise<string[]> {
  const factor = await findTotpFactor(ctx.pool, user.id);
  if (!factor?.confirmed) {
    await ctx.throttle.recordSuccess(ctx.pool, pair);
    return ['pwd'];
  }
  if (code === undefined || code.trim() === '') {
    ctx.metrics.secondFactor.inc({ outcome: 'required' });
    throw identityError('IDENTITY_SECOND_FACTOR_REQUIRED', 'this account uses a second factor: send the code from the authenticator app (or a recovery code) as `otp`');
  }
  const used = await checkCode(ctx, ctx.pool, factor, code, false);
  if (!used) {
    await ctx.throttle.recordFailure(ctx.pool, pair);
    ctx.metrics.secondFactor.inc({ outcome: 'invalid' });
    throw identityError('IDENTITY_SECOND_FACTOR_INVALID', 'the code is wrong, expired or was used already');
  }
  ctx.metrics.secondFactor.inc({ outcome: used });
  await ctx.throttle.recordSuccess(ctx.pool, pair);
  return used === 'otp' ? ['pwd', 'otp'] : ['pwd', 'otp', 'kba'];
}

async function userOf(ctx: IdentityContext, claims: AccessClaims): Promise<User> {
  const user = await findUserById(ctx.pool, claims.sub);
  if (!user) throw identityError('IDENTITY_UNAUTHENTICATED', 'the account no longer exists', { headers: { 'www-authenticate': 'Bearer' } });
  return user;
}

/** Starts an enrolment: a new secret, not in force until confirmed with a code. 409 when a factor is already on. */
export async function startTotpEnrolment(ctx: IdentityContext, claims: AccessClaims, issuer: string): Promise<{ secret: string; otpauthUri: string; confirmed: false }> {
  const user = await userOf(ctx, claims);
  const secret = newTotpSecret();
  const stored = await putPendingFactor(ctx.pool, { userId: user.id, secretSealed: ctx.sealer.seal(secret, aad(user.id)), sealedWith: ctx.sealer.fingerprint });
  if (!stored) throw identityError('IDENTITY_TOTP_ALREADY_ENABLED', 'two-step verification is already on; disable it first to enrol a new device');
  return { secret, otpauthUri: totpUri(secret, user.email, issuer), confirmed: false };
}

/** Confirms the pending enrolment with a code; returns ten recovery codes, shown once (only their hashes are kept). */
export async function confirmTotpEnrolment(ctx: IdentityContext, claims: AccessClaims, code: string, ip: string): Promise<{ recoveryCodes: string[] }> {
  const user = await userOf(ctx, claims);
  const pair = { tenantId: user.tenantId, email: user.email, source: ip };
  await ctx.throttle.assertNotLocked(ctx.pool, pair);
  return withTransaction(ctx.pool, async (tx) => {
    const factor = await findTotpFactor(tx, user.id);
    if (!factor || factor.confirmed) throw identityError('IDENTITY_TOTP_NOT_ENROLLING', 'no enrolment is pending: start one with POST /v1/me/totp');
    if (!(await checkCode(ctx, tx, factor, code, true))) {
      await ctx.throttle.recordFailure(ctx.pool, pair);
      ctx.metrics.secondFactor.inc({ outcome: 'invalid' });
      throw identityError('IDENTITY_SECOND_FACTOR_INVALID', 'the code is wrong or expired; check the device clock and try the current code');
    }
    const recoveryCodes = newRecoveryCodes();
    await replaceRecoveryCodes(tx, user.id, recoveryCodes.map((c) => hashToken(normalizeRecoveryCode(c))));
    ctx.metrics.secondFactor.inc({ outcome: 'enrolled' });
    return { recoveryCodes };
  });
}

/** Turns the factor off with a current code or a recovery code; 409 when the tenant requires it. */
export async function disableTotp(ctx: IdentityContext, claims: AccessClaims, code: string, ip: string): Promise<void> {
  const user = await userOf(ctx, claims);
  if (await tenantRequiresTotp(ctx.pool, user.tenantId)) throw identityError('IDENTITY_TOTP_REQUIRED_BY_TENANT', 'the organisation requires two-step verification; it cannot be turned off');
  const factor = await findTotpFactor(ctx.pool, user.id);
  if (!factor?.confirmed) throw identityError('IDENTITY_TOTP_NOT_ENROLLING', 'two-step verification is not on');
  const pair = { tenantId: user.tenantId, email: user.email, source: ip };
  await ctx.throttle.assertNotLocked(ctx.pool, pair);
  if (!(await checkCode(ctx, ctx.pool, factor, code, false))) {
    await ctx.throttle.recordFailure(ctx.pool, pair);
    ctx.metrics.secondFactor.inc({ outcome: 'invalid' });
    throw identityError('IDENTITY_SECOND_FACTOR_INVALID', 'the code is wrong, expired or was used already');
  }
  await deleteTotpFactor(ctx.pool, user.id);
}

export async function totpStatus(ctx: IdentityContext, claims: AccessClaims): Promise<{ enabled: boolean; pending: boolean; recoveryCodesLeft: number; requiredByTenant: boolean }> {
  const user = await userOf(ctx, claims);
  const factor = await findTotpFactor(ctx.pool, user.id);
  return {
    enabled: factor?.confirmed ?? false,
    pending: factor !== undefined && !factor.confirmed,
    recoveryCodesLeft: factor?.confirmed ? await countUnusedRecoveryCodes(ctx.pool, user.id) : 0,
    requiredByTenant: await tenantRequiresTotp(ctx.pool, user.tenantId),
  };
}
