/**
 * Password reset against real PostgreSQL and Redis: the emailed token is
 * single use and expires; confirming it sets the password, revokes every
 * session of the account and lifts its login locks.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bearer, call, login, PASSWORD, PROBLEM, setupIdentity, suffix, TENANT, verifiedAccount, type TestIdentity } from './support.ts';

const NEW_PASSWORD = 'copper-kettle-midnight-7';

let t: TestIdentity;
let url: string;
beforeAll(async () => {
  t = await setupIdentity();
  ({ url } = await t.start({ TRUST_PROXY_HOPS: '1', LOCKOUT_THRESHOLD: '2' }));
});
afterAll(() => t.cleanup());

describe('password reset', () => {
  it('when a reset is confirmed, then every session of the account is revoked, the old password stops working and the token cannot be used again', async () => {
    const { email } = await verifiedAccount(t, url);
    const phone = (await login(url, email)).body;
    const laptop = (await login(url, email)).body;

    expect((await call(url, 'POST', '/v1/password-resets', { tenant: TENANT, email })).status).toBe(202);
    const mail = await t.mail.next(email, 'reset-password');
    expect(mail.minutes).toBe(30);

    const weak = await call(url, 'POST', '/v1/password-resets/confirm', { token: mail.token, password: 'password1234' });
    expect(weak.status).toBe(422);
    expect(weak.headers.get('content-type')).toBe(PROBLEM);
    expect(weak.body).toMatchObject({ code: 'IDENTITY_PASSWORD_TOO_WEAK', reasons: ['common'] });

    expect((await call(url, 'POST', '/v1/password-resets/confirm', { token: mail.token, password: NEW_PASSWORD })).status).toBe(204);

    for (const session of [phone, laptop]) {
      expect((await call(url, 'POST', '/v1/sessions/refresh', { refreshToken: session.refreshToken })).status).toBe(401);
      expect((await call(url, 'GET', '/v1/me', undefined, bearer(session.accessToken))).status).toBe(401);
    }
    const reasons = await t.db.query<{ revoked_reason: string }>('SELECT revoked_reason FROM sessions WHERE id = ANY($1::uuid[])', [[phone.sessionId, laptop.sessionId]]);
    expect(reasons.rows.map((r) => r.revoked_reason)).toEqual(['password-reset', 'password-reset']);

    expect((await login(url, email, PASSWORD)).status).toBe(401);
    expect((await login(url, email, NEW_PASSWORD)).status).toBe(201);

    const again = await call(url, 'POST', '/v1/password-resets/confirm', { token: mail.token, password: 'yet-another-passphrase-9' });
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ code: 'IDENTITY_ONE_TIME_TOKEN_INVALID' });
  });

  it('when a second reset is requested, then only the newest token works; an expired one never does', async () => {
    const { email } = await verifiedAccount(t, url);
    await call(url, 'POST', '/v1/password-resets', { tenant: TENANT, email });
    const first = await t.mail.next(email, 'reset-password');
    await call(url, 'POST', '/v1/password-resets', { tenant: TENANT, email });
    const second = await t.mail.next(email, 'reset-password');
    expect((await call(url, 'POST', '/v1/password-resets/confirm', { token: first.token, password: NEW_PASSWORD })).status).toBe(400);

    await t.db.query(`UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'reset-password' AND used_at IS NULL`);
    expect((await call(url, 'POST', '/v1/password-resets/confirm', { token: second.token, password: NEW_PASSWORD })).status).toBe(400);
    expect((await login(url, email, PASSWORD)).status).toBe(201);
  });

  it('when a reset is requested for an email without an account, then the answer is the same 202 and no mail goes out', async () => {
    const ghost = `ghost-${suffix()}@example.test`;
    const res = await call(url, 'POST', '/v1/password-resets', { tenant: TENANT, email: ghost });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted' });
    expect((await call(url, 'POST', '/v1/password-resets', { tenant: 'no-such-tenant', email: ghost })).status).toBe(202);
    // a real account's mail, requested after, arrives; none to the ghost came before it
    const { email } = await verifiedAccount(t, url);
    await call(url, 'POST', '/v1/password-resets', { tenant: TENANT, email });
    await t.mail.next(email, 'reset-password');
    expect(t.mail.mails.some((m) => m.to === ghost)).toBe(false);
  });

  it('when the account is locked out from an address, then a password reset lifts the lock', async () => {
    const { email } = await verifiedAccount(t, url);
    const from = { 'x-forwarded-for': '203.0.113.50' };
    for (let i = 0; i < 2; i++) expect((await login(url, email, 'wrong-password-guess', from)).status).toBe(401);
    expect((await login(url, email, PASSWORD, from)).status).toBe(429);

    await call(url, 'POST', '/v1/password-resets', { tenant: TENANT, email });
    const mail = await t.mail.next(email, 'reset-password');
    expect((await call(url, 'POST', '/v1/password-resets/confirm', { token: mail.token, password: NEW_PASSWORD })).status).toBe(204);
    expect((await login(url, email, NEW_PASSWORD, from)).status).toBe(201);
  });
});
