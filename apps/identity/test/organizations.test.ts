/**
 * Organisations, members and invitations against real PostgreSQL and Redis:
 * invitations by email (single use, expiring, replaced by a newer one),
 * roles and their limits, and isolation: an admin of one organisation cannot
 * read or change another (404, nothing changed).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bearer, call, login, PASSWORD, PROBLEM, setupIdentity, suffix, TENANT, verifiedAccount, type TestIdentity } from './support.ts';

let t: TestIdentity;
let url: string;
let acmeId: string;
let adminToken: string;
beforeAll(async () => {
  t = await setupIdentity();
  ({ url } = await t.start());
  acmeId = (await t.db.query<{ id: string }>('SELECT id FROM tenants WHERE slug = $1', [TENANT])).rows[0]!.id;
  await verifiedAccount(t, url, 'boss@acme.test');
  adminToken = (await login(url, 'boss@acme.test')).body.accessToken as string;
});
afterAll(() => t.cleanup());

/** Invites `email` into the caller's organisation and accepts it; returns the new member's token. */
async function invitedMember(token: string, orgId: string, orgSlug: string, role: 'member' | 'admin' | 'owner' = 'member', email = `m-${suffix()}@example.test`) {
  const inv = await call(url, 'POST', `/v1/organizations/${orgId}/invitations`, { email, role }, bearer(token));
  expect(inv.status).toBe(201);
  const mail = await t.mail.next(email, 'invitation');
  const accepted = await call(url, 'POST', '/v1/invitations/accept', { token: mail.token, password: PASSWORD });
  expect(accepted.status).toBe(201);
  const session = await call(url, 'POST', '/v1/sessions', { tenant: orgSlug, email, password: PASSWORD });
  return { email, userId: accepted.body.userId as string, token: session.body.accessToken as string };
}

/** A second organisation made through the API: the caller is invited as owner and accepts. */
async function secondOrganization() {
  const { email } = await verifiedAccount(t, url);
  const token = (await login(url, email)).body.accessToken as string;
  const slug = `org-${suffix()}`;
  const created = await call(url, 'POST', '/v1/organizations', { slug, name: 'Org B' }, bearer(token));
  expect(created.status).toBe(201);
  expect(created.body.invitation).toMatchObject({ email, role: 'owner' });
  const mail = await t.mail.next(email, 'invitation');
  expect(mail.tenantId).toBe(created.body.organization.id);
  expect((await call(url, 'POST', '/v1/invitations/accept', { token: mail.token, password: PASSWORD })).body).toMatchObject({ role: 'owner', email });
  const owner = await call(url, 'POST', '/v1/sessions', { tenant: slug, email, password: PASSWORD });
  expect(owner.status).toBe(201);
  return { id: created.body.organization.id as string, slug, ownerToken: owner.body.accessToken as string };
}

describe('invitations', () => {
  it('when an admin invites an address, then a single-use token is emailed through notifications and accepting it makes a verified member who can log in', async () => {
    const email = `inv-${suffix()}@example.test`;
    const inv = await call(url, 'POST', `/v1/organizations/${acmeId}/invitations`, { email: email.toUpperCase(), role: 'member' }, bearer(adminToken));
    expect(inv.status).toBe(201);
    expect(inv.body).toMatchObject({ email, role: 'member' });
    const pending = await call(url, 'GET', `/v1/organizations/${acmeId}/invitations`, undefined, bearer(adminToken));
    expect(pending.body.invitations).toEqual(expect.arrayContaining([expect.objectContaining({ id: inv.body.id, email })]));

    const mail = await t.mail.next(email, 'invitation');
    expect(mail.tenantId).toBe(acmeId);
    expect(mail.body).toMatchObject({ channel: 'email', template: 'verification-code' });
    const weak = await call(url, 'POST', '/v1/invitations/accept', { token: mail.token, password: 'short' });
    expect(weak.status).toBe(422);
    const accepted = await call(url, 'POST', '/v1/invitations/accept', { token: mail.token, password: PASSWORD, displayName: 'Invited' });
    expect(accepted.status).toBe(201);
    expect(accepted.body).toMatchObject({ organization: { id: acmeId, slug: TENANT }, email, role: 'member' });
    const again = await call(url, 'POST', '/v1/invitations/accept', { token: mail.token, password: PASSWORD });
    expect(again.status).toBe(400);
    expect(again.headers.get('content-type')).toBe(PROBLEM);
    expect(again.body).toMatchObject({ code: 'IDENTITY_ONE_TIME_TOKEN_INVALID' });
    expect((await login(url, email)).status).toBe(201);
  });

  it('when an invitation has expired, was replaced by a newer one or was revoked, then its token is refused', async () => {
    const email = `exp-${suffix()}@example.test`;
    await call(url, 'POST', `/v1/organizations/${acmeId}/invitations`, { email }, bearer(adminToken));
    const first = await t.mail.next(email, 'invitation');
    const second = await call(url, 'POST', `/v1/organizations/${acmeId}/invitations`, { email }, bearer(adminToken));
    const secondMail = await t.mail.next(email, 'invitation');
    expect((await call(url, 'POST', '/v1/invitations/accept', { token: first.token, password: PASSWORD })).body).toMatchObject({ code: 'IDENTITY_ONE_TIME_TOKEN_INVALID' });

    await t.db.query(`UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = $1`, [second.body.id]);
    expect((await call(url, 'POST', '/v1/invitations/accept', { token: secondMail.token, password: PASSWORD })).body).toMatchObject({ code: 'IDENTITY_ONE_TIME_TOKEN_INVALID' });

    const third = await call(url, 'POST', `/v1/organizations/${acmeId}/invitations`, { email }, bearer(adminToken));
    const thirdMail = await t.mail.next(email, 'invitation');
    expect((await call(url, 'DELETE', `/v1/organizations/${acmeId}/invitations/${third.body.id}`, undefined, bearer(adminToken))).status).toBe(204);
    expect((await call(url, 'POST', '/v1/invitations/accept', { token: thirdMail.token, password: PASSWORD })).body).toMatchObject({ code: 'IDENTITY_ONE_TIME_TOKEN_INVALID' });
    expect((await t.db.query('SELECT 1 FROM users WHERE email = $1', [email])).rowCount).toBe(0);
  });

  it('when the organisation already has an account with the address, then its password is needed and the role is raised, never lowered', async () => {
    const { email } = await verifiedAccount(t, url);
    await call(url, 'POST', `/v1/organizations/${acmeId}/invitations`, { email, role: 'admin' }, bearer(adminToken));
    const mail = await t.mail.next(email, 'invitation');
    const wrong = await call(url, 'POST', '/v1/invitations/accept', { token: mail.token, password: 'not-the-password-at-all' });
    expect(wrong.status).toBe(401);
    expect((await call(url, 'POST', '/v1/invitations/accept', { token: mail.token, password: PASSWORD })).body).toMatchObject({ role: 'admin', email });
    expect((await t.db.query<{ org_role: string }>('SELECT org_role FROM users WHERE email = $1', [email])).rows[0]!.org_role).toBe('admin');
  });
});

describe('roles', () => {
  it('when a member calls the management routes, then 403; reading the organisation is allowed', async () => {
    const member = await invitedMember(adminToken, acmeId, TENANT);
    const org = await call(url, 'GET', `/v1/organizations/${acmeId}`, undefined, bearer(member.token));
    expect(org.body).toMatchObject({ id: acmeId, slug: TENANT, role: 'member', requireTotp: false });
    for (const [method, path, body] of [
      ['GET', `/v1/organizations/${acmeId}/members`, undefined],
      ['POST', `/v1/organizations/${acmeId}/invitations`, { email: 'x@example.test' }],
      ['PATCH', `/v1/organizations/${acmeId}`, { name: 'Hijacked' }],
    ] as const) {
      const res = await call(url, method, path, body, bearer(member.token));
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'IDENTITY_ORGANIZATION_FORBIDDEN', role: 'member' });
    }
  });

  it('when roles change, then admins manage members, only owners grant owner, and the last owner stays owner', async () => {
    const b = await secondOrganization();
    const admin = await invitedMember(b.ownerToken, b.id, b.slug, 'admin');
    const member = await invitedMember(admin.token, b.id, b.slug, 'member');
    expect((await call(url, 'PUT', `/v1/organizations/${b.id}/members/${member.userId}`, { role: 'owner' }, bearer(admin.token))).body).toMatchObject({ code: 'IDENTITY_ORGANIZATION_FORBIDDEN' });
    expect((await call(url, 'POST', `/v1/organizations/${b.id}/invitations`, { email: 'o@example.test', role: 'owner' }, bearer(admin.token))).status).toBe(403);
    expect((await call(url, 'PUT', `/v1/organizations/${b.id}/members/${member.userId}`, { role: 'admin' }, bearer(admin.token))).body).toMatchObject({ userId: member.userId, role: 'admin' });

    const members = (await call(url, 'GET', `/v1/organizations/${b.id}/members`, undefined, bearer(b.ownerToken))).body.members as { userId: string; role: string }[];
    expect(members.map((m) => m.role).sort()).toEqual(['admin', 'admin', 'owner']);
    const ownerId = members.find((m) => m.role === 'owner')!.userId;
    const last = await call(url, 'PUT', `/v1/organizations/${b.id}/members/${ownerId}`, { role: 'member' }, bearer(b.ownerToken));
    expect(last.status).toBe(409);
    expect(last.body).toMatchObject({ code: 'IDENTITY_LAST_OWNER' });

    expect((await call(url, 'PUT', `/v1/organizations/${b.id}/members/${admin.userId}`, { role: 'owner' }, bearer(b.ownerToken))).body).toMatchObject({ role: 'owner' });
    expect((await call(url, 'PUT', `/v1/organizations/${b.id}/members/${ownerId}`, { role: 'member' }, bearer(b.ownerToken))).body).toMatchObject({ role: 'member' });
  });

  it('when an admin requires two-step verification, then the organisation says so and members without it get tokens without roles', async () => {
    const b = await secondOrganization();
    const member = await invitedMember(b.ownerToken, b.id, b.slug);
    const patched = await call(url, 'PATCH', `/v1/organizations/${b.id}`, { requireTotp: true, name: 'Org B, secured' }, bearer(b.ownerToken));
    expect(patched.body).toMatchObject({ requireTotp: true, name: 'Org B, secured', members: 2 });
    const again = await call(url, 'POST', '/v1/sessions', { tenant: b.slug, email: member.email, password: PASSWORD });
    const claims = JSON.parse(Buffer.from((again.body.accessToken as string).split('.')[1]!, 'base64url').toString()) as { roles: string[]; scope: string };
    expect(claims).toMatchObject({ roles: [], scope: 'totp-enrolment' });
    expect((await call(url, 'GET', `/v1/organizations/${b.id}`, undefined, bearer(again.body.accessToken as string))).body).toMatchObject({ code: 'IDENTITY_TOTP_ENROLMENT_REQUIRED' });
  });
});

describe('isolation between organisations', () => {
  it("when an admin of one organisation names another's id, then every route answers 404 and nothing in the other changes", async () => {
    const b = await secondOrganization();
    const bMember = await invitedMember(b.ownerToken, b.id, b.slug);
    const before = await t.db.query('SELECT id, org_role, email FROM users WHERE tenant_id = $1 ORDER BY id', [b.id]);
    const beforeOrg = await t.db.query('SELECT name, require_totp FROM tenants WHERE id = $1', [b.id]);
    const beforeInv = await t.db.query('SELECT count(*)::int AS n FROM invitations WHERE tenant_id = $1', [b.id]);
    const probes = [
      ['GET', `/v1/organizations/${b.id}`, undefined],
      ['PATCH', `/v1/organizations/${b.id}`, { name: 'Taken over', requireTotp: true }],
      ['GET', `/v1/organizations/${b.id}/members`, undefined],
      ['PUT', `/v1/organizations/${b.id}/members/${bMember.userId}`, { role: 'owner' }],
      ['POST', `/v1/organizations/${b.id}/invitations`, { email: 'spy@example.test', role: 'owner' }],
      ['GET', `/v1/organizations/${b.id}/invitations`, undefined],
      ['DELETE', `/v1/organizations/${b.id}/invitations/${crypto.randomUUID()}`, undefined],
    ] as const;
    for (const [method, path, body] of probes) {
      const res = await call(url, method, path, body, bearer(adminToken));
      expect([method, path, res.status]).toEqual([method, path, 404]);
      expect(res.body).toMatchObject({ code: 'IDENTITY_ORGANIZATION_NOT_FOUND' });
    }
    // an organisation that does not exist answers the same
    expect((await call(url, 'GET', `/v1/organizations/${crypto.randomUUID()}`, undefined, bearer(adminToken))).body).toMatchObject({ code: 'IDENTITY_ORGANIZATION_NOT_FOUND' });
    // and the other way round
    expect((await call(url, 'GET', `/v1/organizations/${acmeId}/members`, undefined, bearer(b.ownerToken))).status).toBe(404);
    // a member of A moved into B's id is not found either (the token's tenant decides)
    expect((await call(url, 'PUT', `/v1/organizations/${acmeId}/members/${bMember.userId}`, { role: 'admin' }, bearer(adminToken))).body).toMatchObject({ code: 'IDENTITY_MEMBER_NOT_FOUND' });

    expect((await t.db.query('SELECT id, org_role, email FROM users WHERE tenant_id = $1 ORDER BY id', [b.id])).rows).toEqual(before.rows);
    expect((await t.db.query('SELECT name, require_totp FROM tenants WHERE id = $1', [b.id])).rows).toEqual(beforeOrg.rows);
    expect((await t.db.query('SELECT count(*)::int AS n FROM invitations WHERE tenant_id = $1', [b.id])).rows).toEqual(beforeInv.rows);
  });
});

describe('bad input', () => {
  it('when bodies or ids are malformed, then problem+json 400, and an unauthenticated call 401', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/organizations/not-a-uuid', undefined],
      ['POST', `/v1/organizations/${acmeId}/invitations`, { email: 'not-an-email' }],
      ['POST', `/v1/organizations/${acmeId}/invitations`, { email: 'a@example.test', role: 'emperor' }],
      ['PUT', `/v1/organizations/${acmeId}/members/${crypto.randomUUID()}`, { role: 'admin', extra: true }],
      ['POST', '/v1/organizations', { slug: 'Bad Slug', name: 'x' }],
      ['POST', '/v1/invitations/accept', { token: 'short', password: PASSWORD }],
    ] as const) {
      const res = await call(url, method, path, body, bearer(adminToken));
      expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 400, PROBLEM]);
    }
    expect((await call(url, 'GET', `/v1/organizations/${acmeId}`)).status).toBe(401);
    const taken = await call(url, 'POST', '/v1/organizations', { slug: TENANT, name: 'Dup' }, bearer(adminToken));
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ code: 'IDENTITY_ORGANIZATION_SLUG_TAKEN' });
  });
});
