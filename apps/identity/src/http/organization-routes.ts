/**
 * Thin routes of organisations, members and invitations (domain/organizations.ts).
 * Every organisation route names its id; the caller's token must be of that
 * organisation (404 otherwise).
 */
import type { Request } from 'express';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { verifyAccessToken } from '../domain/access-tokens.ts';
import type { IdentityContext } from '../domain/context.ts';
import { acceptInvitation, cancelInvitation, changeMemberRole, createOrganization, getInvitations, getMembers, getOrganization, inviteMember, patchOrganization } from '../domain/organizations.ts';
import {
  AcceptedInvitationResponse,
  AcceptInvitationBody,
  CreatedOrganizationResponse,
  CreateOrganizationBody,
  InvitationListResponse,
  InvitationParams,
  InvitationResponse,
  InviteBody,
  MemberListResponse,
  MemberParams,
  MemberResponse,
  MemberRoleBody,
  OrganizationResponse,
  OrgParams,
  PatchOrganizationBody,
} from './schemas.ts';

const BEARER = [{ name: 'authorization', required: true, description: 'Bearer access token of a member of the organisation.' }] as const;
const PRIVATE = { 'cache-control': 'private, no-store' };
const ORG_ERRORS = ['IDENTITY_UNAUTHENTICATED', 'IDENTITY_ORGANIZATION_NOT_FOUND', 'IDENTITY_TOTP_ENROLMENT_REQUIRED'] as const;
const MANAGE_ERRORS = [...ORG_ERRORS, 'IDENTITY_ORGANIZATION_FORBIDDEN'] as const;

export function registerOrganizationRoutes(r: RouteRegistrar, ctx: IdentityContext): void {
  const claimsOf = (req: Request) => verifyAccessToken(ctx.ring, ctx.tokens, req.get('authorization'));

  r.post('/v1/organizations', {
    summary: "Create an organisation; the caller's email is invited as its owner (the owner account is made when the invitation is accepted)",
    errors: ['IDENTITY_UNAUTHENTICATED', 'IDENTITY_ORGANIZATION_SLUG_TAKEN', 'IDENTITY_INVITATION_THROTTLED', 'IDENTITY_TOTP_ENROLMENT_REQUIRED'],
    headers: BEARER,
    body: CreateOrganizationBody,
    responses: { 201: CreatedOrganizationResponse },
    handler: async ({ req, body }) => {
      const created = await createOrganization(ctx, await claimsOf(req), body);
      return { status: 201, body: created, headers: { ...PRIVATE, location: `/v1/organizations/${created.organization.id}` } };
    },
  });
  r.get('/v1/organizations/:orgId', {
    summary: "The caller's organisation with the caller's role in it",
    errors: [...ORG_ERRORS],
    headers: BEARER,
    params: OrgParams,
    responses: { 200: OrganizationResponse },
    handler: async ({ req, params }) => ({ status: 200, body: await getOrganization(ctx, await claimsOf(req), params.orgId), headers: PRIVATE }),
  });
  r.patch('/v1/organizations/:orgId', {
    summary: 'Rename the organisation or require two-step verification of its members (owners and admins)',
    errors: [...MANAGE_ERRORS],
    headers: BEARER,
    params: OrgParams,
    body: PatchOrganizationBody,
    responses: { 200: OrganizationResponse },
    handler: async ({ req, params, body }) => ({ status: 200, body: await patchOrganization(ctx, await claimsOf(req), params.orgId, body), headers: PRIVATE }),
  });
  r.get('/v1/organizations/:orgId/members', {
    summary: 'The members of the organisation with their roles (owners and admins)',
    errors: [...MANAGE_ERRORS],
    headers: BEARER,
    params: OrgParams,
    responses: { 200: MemberListResponse },
    handler: async ({ req, params }) => ({ status: 200, body: { members: await getMembers(ctx, await claimsOf(req), params.orgId) }, headers: PRIVATE }),
  });
  r.put('/v1/organizations/:orgId/members/:userId', {
    summary: "Change a member's role (owners and admins; the owner role only by owners; the last owner stays)",
    errors: [...MANAGE_ERRORS, 'IDENTITY_MEMBER_NOT_FOUND', 'IDENTITY_LAST_OWNER'],
    headers: BEARER,
    params: MemberParams,
    body: MemberRoleBody,
    responses: { 200: MemberResponse },
    handler: async ({ req, params, body }) => ({ status: 200, body: await changeMemberRole(ctx, await claimsOf(req), params.orgId, params.userId, body.role), headers: PRIVATE }),
  });
  r.post('/v1/organizations/:orgId/invitations', {
    summary: 'Invite an email address with a role; the single-use, expiring token goes out by email through notifications (a newer invitation to the address replaces a pending one)',
    errors: [...MANAGE_ERRORS, 'IDENTITY_INVITATION_THROTTLED'],
    headers: BEARER,
    params: OrgParams,
    body: InviteBody,
    responses: { 201: InvitationResponse },
    handler: async ({ req, params, body }) => ({ status: 201, body: await inviteMember(ctx, await claimsOf(req), params.orgId, body), headers: PRIVATE }),
  });
  r.get('/v1/organizations/:orgId/invitations', {
    summary: 'Pending invitations of the organisation (owners and admins)',
    errors: [...MANAGE_ERRORS],
    headers: BEARER,
    params: OrgParams,
    responses: { 200: InvitationListResponse },
    handler: async ({ req, params }) => ({ status: 200, body: { invitations: await getInvitations(ctx, await claimsOf(req), params.orgId) }, headers: PRIVATE }),
  });
  r.delete('/v1/organizations/:orgId/invitations/:invitationId', {
    summary: 'Revoke a pending invitation (its token stops working)',
    errors: [...MANAGE_ERRORS, 'IDENTITY_INVITATION_NOT_FOUND'],
    headers: BEARER,
    params: InvitationParams,
    responses: { 204: null },
    handler: async ({ req, params }) => {
      await cancelInvitation(ctx, await claimsOf(req), params.orgId, params.invitationId);
      return { status: 204 };
    },
  });
  r.post('/v1/invitations/accept', {
    summary: "Accept an invitation with the emailed token: a new account in the organisation with the invited role, or the role for the organisation's existing account with that email (its password)",
    errors: ['IDENTITY_ONE_TIME_TOKEN_INVALID', 'IDENTITY_PASSWORD_TOO_WEAK', 'IDENTITY_INVALID_CREDENTIALS'],
    body: AcceptInvitationBody,
    responses: { 201: AcceptedInvitationResponse },
    handler: async ({ body }) => ({ status: 201, body: await acceptInvitation(ctx, body), headers: { 'cache-control': 'no-store' } }),
  });
}
