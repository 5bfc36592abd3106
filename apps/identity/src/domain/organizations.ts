/**
 * Organisation use cases: an organisation is a tenant; its members are its
 * accounts, each with an organisation role (owner, admin, member);
 * invitations by email bring new members in.
 *
 * Isolation: every route names the organisation, and the caller reaches it
 * only when the token's tenant is that organisation and the account's role
 * there (read from the database, not the token) allows it. Any other
 * organisation is 404, whether or not it exists, so an admin of A learns
 * nothing about B. Owners alone grant or take the owner role, and the last
 * owner stays an owner.
 *
 * Creating an organisation invites the caller's email as its owner: an
 * account belongs to one tenant, so the owner's account in the new
 * organisation is made when the invitation is accepted.
 *
 * Invitations are under row-level security (migrations/0007): they are
 * written and read in the organisation's tenant scope; accepting one finds
 * the organisation of the token in the system context
 * (`identity.invitation-accept`) and spends it in that organisation's scope.
 */
import { randomUUID } from 'node:crypto';
import { withSystemContext, withTenant, withTransaction } from '@bulwark/db';
import { identityError } from '../errors.ts';
import { findTenantById, findUserByEmail, findUserById, insertUser } from '../store/accounts-store.ts';
import {
  acceptInvitation as spendInvitation,
  findOrganization,
  insertInvitation,
  insertOrganization,
  listMembers,
  listPendingInvitations,
  lockOwners,
  memberRole,
  revokeInvitation,
  setMemberRole,
  tenantOfInvitation,
  updateOrganization,
  type Invitation,
  type Member,
  type Organization,
  type OrgRole,
} from '../store/organizations-store.ts';
import type { AccessClaims } from './access-tokens.ts';
import { assertPasswordAllowed } from './accounts.ts';
import { timed, type IdentityContext } from './context.ts';
import { ENROLMENT_SCOPE } from './second-factor.ts';
import { hashToken, newOpaqueToken, normalizeEmail } from './secrets.ts';
import { recordSecurityEvent } from './security-events.ts';

const MANAGERS: readonly OrgRole[] = ['owner', 'admin'];

const notFound = () => identityError('IDENTITY_ORGANIZATION_NOT_FOUND', 'no such organisation for this account');

/** The caller's role in `orgId`: 404 for any organisation but the token's own, 403 below `need`. */
async function authorize(ctx: IdentityContext, claims: AccessClaims, orgId: string, need: 'member' | 'manager'): Promise<OrgRole> {
  if (claims.scope === ENROLMENT_SCOPE) throw identityError('IDENTITY_TOTP_ENROLMENT_REQUIRED', 'the organisation requires two-step verification: enrol first (POST /v1/me/totp)');
  if (claims.tenant !== orgId) throw notFound();
  const role = await memberRole(ctx.pool, orgId, claims.sub);
  if (!role) throw notFound();
  if (need === 'manager' && !MANAGERS.includes(role)) throw identityError('IDENTITY_ORGANIZATION_FORBIDDEN', 'only the organisation\'s owners and admins may do this', { extensions: { role } });
  return role;
}

export async function getOrganization(ctx: IdentityContext, claims: AccessClaims, orgId: string): Promise<Organization & { role: OrgRole }> {
  const role = await authorize(ctx, claims, orgId, 'member');
  const org = await findOrganization(ctx.pool, orgId);
  if (!org) throw notFound();
  return { ...org, role };
}

export async function patchOrganization(ctx: IdentityContext, claims: AccessClaims, orgId: string, patch: { name?: string | undefined; requireTotp?: boolean | undefined }): Promise<Organization & { role: OrgRole }> {
  await authorize(ctx, claims, orgId, 'manager');
  await updateOrganization(ctx.pool, orgId, patch);
  return getOrganization(ctx, claims, orgId);
}

export async function getMembers(ctx: IdentityContext, claims: AccessClaims, orgId: string): Promise<Member[]> {
  await authorize(ctx, claims, orgId, 'manager');
  return listMembers(ctx.pool, orgId);
}

export async function changeMemberRole(ctx: IdentityContext, claims: AccessClaims, orgId: string, userId: string, role: OrgRole): Promise<Member> {
  const callerRole = await authorize(ctx, claims, orgId, 'manager');
  return withTransaction(ctx.pool, async (tx) => {
    const target = await memberRole(tx, orgId, userId);
    if (!target) throw identityError('IDENTITY_MEMBER_NOT_FOUND', 'the organisation has no member with this id');
    if ((role === 'owner' || target === 'owner') && callerRole !== 'owner') throw identityError('IDENTITY_ORGANIZATION_FORBIDDEN', 'only owners grant or take the owner role', { extensions: { role: callerRole } });
    if (target === 'owner' && role !== 'owner') {
      const owners = await lockOwners(tx, orgId);
      if (owners.length <= 1) throw identityError('IDENTITY_LAST_OWNER', 'the organisation keeps at least one owner; make someone else owner first');
    }
    await setMemberRole(tx, orgId, userId, role);
    if (role !== target) await recordSecurityEvent(tx, 'role-changed', { accountId: userId, tenant: orgId, actorSub: claims.sub, from: target, to: role });
    const member = (await listMembers(tx, orgId)).find((m) => m.userId === userId)!;
    return member;
  });
}

export interface InvitationView {
  id: string;
  email: string;
  role: OrgRole;
  expiresAt: string;
  createdAt: string;
}

const view = (i: Invitation): InvitationView => ({ id: i.id, email: i.email, role: i.role, expiresAt: i.expiresAt.toISOString(), createdAt: i.createdAt.toISOString() });

async function invite(ctx: IdentityContext, orgId: string, orgSlug: string, invitedBy: string, email: string, role: OrgRole): Promise<InvitationView> {
  if (!(await ctx.throttle.admitMail(orgSlug, email))) throw identityError('IDENTITY_INVITATION_THROTTLED', 'too many emails to this address recently; try later', { retryAfterSeconds: 60 });
  const token = newOpaqueToken();
  const ttlSeconds = ctx.lifetimes.invitationSeconds;
  const invitation = await withTenant(orgId, () => withTransaction(ctx.pool, (tx) => insertInvitation(tx, { id: randomUUID(), tenantId: orgId, email, role, tokenHash: hashToken(token), invitedBy, ttlSeconds })));
  ctx.mail.enqueue({ kind: 'invitation', tenantId: orgId, to: email, token, expiresInMinutes: Math.round(ttlSeconds / 60), idempotencyKey: `identity:invitation:${hashToken(token).toString('hex')}` });
  ctx.metrics.invitations.inc({ outcome: 'sent' });
  return view(invitation);
}

export async function inviteMember(ctx: IdentityContext, claims: AccessClaims, orgId: string, input: { email: string; role: OrgRole }): Promise<InvitationView> {
  const callerRole = await authorize(ctx, claims, orgId, 'manager');
  if (input.role === 'owner' && callerRole !== 'owner') throw identityError('IDENTITY_ORGANIZATION_FORBIDDEN', 'only owners invite owners', { extensions: { role: callerRole } });
  const org = (await findTenantById(ctx.pool, orgId))!;
  return invite(ctx, orgId, org.slug, claims.sub, normalizeEmail(input.email), input.role);
}

export async function getInvitations(ctx: IdentityContext, claims: AccessClaims, orgId: string): Promise<InvitationView[]> {
  await authorize(ctx, claims, orgId, 'manager');
  return (await withTenant(orgId, () => listPendingInvitations(ctx.pool, orgId))).map(view);
}

export async function cancelInvitation(ctx: IdentityContext, claims: AccessClaims, orgId: string, invitationId: string): Promise<void> {
  await authorize(ctx, claims, orgId, 'manager');
  if (!(await withTenant(orgId, () => revokeInvitation(ctx.pool, orgId, invitationId)))) throw identityError('IDENTITY_INVITATION_NOT_FOUND', 'the organisation has no pending invitation with this id');
}

/** A new organisation; the caller's email is invited as its owner (202-like: the account there is made on acceptance). */
export async function createOrganization(ctx: IdentityContext, claims: AccessClaims, input: { slug: string; name: string }): Promise<{ organization: { id: string; slug: string; name: string }; invitation: InvitationView }> {
  if (claims.scope === ENROLMENT_SCOPE) throw identityError('IDENTITY_TOTP_ENROLMENT_REQUIRED', 'enrol two-step verification first (POST /v1/me/totp)');
  const caller = await findUserById(ctx.pool, claims.sub);
  if (!caller) throw identityError('IDENTITY_UNAUTHENTICATED', 'the account no longer exists', { headers: { 'www-authenticate': 'Bearer' } });
  const id = randomUUID();
  if (!(await insertOrganization(ctx.pool, { id, slug: input.slug, name: input.name }))) throw identityError('IDENTITY_ORGANIZATION_SLUG_TAKEN', `the slug ${input.slug} is taken`, { extensions: { slug: input.slug } });
  const invitation = await invite(ctx, id, input.slug, caller.id, caller.email, 'owner');
  return { organization: { id, slug: input.slug, name: input.name }, invitation };
}

/**
 * Accepts an invitation with its emailed token (single use, expiring): a new
 * account in the organisation (its email counts as verified: the token came
 * by email) with the invited role, or, when the organisation already has an
 * account with that email, that account (its password proves it) gets the
 * role. A wrong password leaves the invitation unspent.
 */
export async function acceptInvitation(ctx: IdentityContext, input: { token: string; password: string; displayName?: string | undefined }): Promise<{ organization: { id: string; slug: string; name: string }; email: string; role: OrgRole; userId: string }> {
  const tokenHash = hashToken(input.token);
  const invalid = () => identityError('IDENTITY_ONE_TIME_TOKEN_INVALID', 'the invitation is unknown, expired, revoked or already accepted');
  const accept = (tenant: string) => withTenant(tenant, () => withTransaction(ctx.pool, async (tx) => {
    const invitation = await spendInvitation(tx, tokenHash);
    if (!invitation) throw invalid();
    const org = (await findTenantById(tx, invitation.tenantId))!;
    const existing = await findUserByEmail(tx, invitation.tenantId, invitation.email);
    if (existing) {
      if (!(await timed(ctx, 'verify', () => ctx.hasher.verify(existing.passwordHash, input.password)))) throw identityError('IDENTITY_INVALID_CREDENTIALS', 'the password of the existing account is wrong');
      const current = await memberRole(tx, invitation.tenantId, existing.id);
      // an invitation never lowers a role
      const role = current === 'owner' || (current === 'admin' && invitation.role === 'member') ? current : invitation.role;
      await setMemberRole(tx, invitation.tenantId, existing.id, role);
      if (role !== current) await recordSecurityEvent(tx, 'membership-changed', { accountId: existing.id, tenant: invitation.tenantId, actorSub: existing.id, role, via: 'invitation' });
      return { organization: org, email: existing.email, role, userId: existing.id };
    }
    assertPasswordAllowed(input.password);
    const passwordHash = await timed(ctx, 'hash', () => ctx.hasher.hash(input.password));
    const user = await insertUser(tx, { id: randomUUID(), tenantId: invitation.tenantId, email: invitation.email, passwordHash, displayName: input.displayName ?? null, roles: ctx.roles.customer, orgRole: invitation.role, emailVerified: true });
    if (!user) throw identityError('IDENTITY_ONE_TIME_TOKEN_INVALID', 'the invitation was accepted at the same moment by another request');
    await recordSecurityEvent(tx, 'membership-changed', { accountId: user.id, tenant: invitation.tenantId, actorSub: user.id, role: invitation.role, via: 'invitation' });
    ctx.metrics.registrations.inc();
    return { organization: org, email: invitation.email, role: invitation.role, userId: user.id };
  }));
  let result: Awaited<ReturnType<typeof accept>>;
  try {
    const tenant = await withSystemContext(ctx.pool, 'identity.invitation-accept', () => tenantOfInvitation(ctx.pool, tokenHash));
    if (tenant === undefined) throw invalid();
    result = await accept(tenant);
  } catch (err) {
    ctx.metrics.invitations.inc({ outcome: 'refused' });
    throw err;
  }
  ctx.metrics.invitations.inc({ outcome: 'accepted' });
  return result;
}
