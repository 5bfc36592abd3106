/**
 * Security events for the audit log (issue 33): a login, a membership by
 * invitation and a member's role change each write one event to
 * security_events_outbox in the change's transaction (no Kafka here: they
 * wait there for the relay); a refused change writes none.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bearer, call, login, PASSWORD, setupIdentity, suffix, TENANT, verifiedAccount, type TestIdentity } from './support.ts';

let t: TestIdentity;
let url: string;
let acmeId: string;
let adminToken: string;
let adminId: string;

beforeAll(async () => {
  t = await setupIdentity();
  ({ url } = await t.start());
  acmeId = (await t.db.query<{ id: string }>('SELECT id FROM tenants WHERE slug = $1', [TENANT])).rows[0]!.id;
  await verifiedAccount(t, url, 'boss@acme.test');
  adminToken = (await login(url, 'boss@acme.test')).body.accessToken as string;
  adminId = (await t.db.query<{ id: string }>("SELECT id FROM users WHERE email = 'boss@acme.test'")).rows[0]!.id;
});
afterAll(() => t.cleanup());

const eventsOf = async (accountId: string) =>
  (await t.db.query<{ type: string; data: Record<string, unknown> }>('SELECT type, data FROM security_events_outbox WHERE account_id = $1 ORDER BY id', [accountId])).rows;

describe('identity security events', () => {
  it('when an account logs in, then a login-succeeded event names the account, its tenant and the session', async () => {
    const events = await eventsOf(adminId);
    expect(events).toEqual([{ type: 'login-succeeded', data: expect.objectContaining({ accountId: adminId, tenant: acmeId, method: 'password', sessionId: expect.any(String) }) }]);
  });

  it('when a member joins by invitation and an admin changes its role, then membership-changed and role-changed are recorded; a refused change records nothing', async () => {
    const email = `m-${suffix()}@example.test`;
    expect((await call(url, 'POST', `/v1/organizations/${acmeId}/invitations`, { email, role: 'member' }, bearer(adminToken))).status).toBe(201);
    const mail = await t.mail.next(email, 'invitation');
    const accepted = await call(url, 'POST', '/v1/invitations/accept', { token: mail.token, password: PASSWORD });
    const userId = accepted.body.userId as string;
    expect((await call(url, 'PUT', `/v1/organizations/${acmeId}/members/${userId}`, { role: 'admin' }, bearer(adminToken))).status).toBe(200);
    expect((await call(url, 'PUT', `/v1/organizations/${acmeId}/members/${userId}`, { role: 'admin' }, bearer(adminToken))).status).toBe(200); // no change: no event
    const memberToken = (await call(url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: PASSWORD })).body.accessToken as string;
    expect((await call(url, 'PUT', `/v1/organizations/${acmeId}/members/${userId}`, { role: 'owner' }, bearer(memberToken))).status).toBe(403); // only owners grant owner
    expect((await eventsOf(userId)).map((e) => [e.type, e.data])).toEqual([
      ['membership-changed', { accountId: userId, tenant: acmeId, actorSub: userId, role: 'member', via: 'invitation' }],
      ['role-changed', { accountId: userId, tenant: acmeId, actorSub: adminId, from: 'member', to: 'admin' }],
      ['login-succeeded', expect.objectContaining({ accountId: userId })],
    ]);
    expect((await eventsOf(adminId)).map((e) => e.type)).toEqual(['login-succeeded']);
  });
});
