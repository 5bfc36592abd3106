/**
 * The account and session life cycle against real PostgreSQL and Redis:
 * register → verify → login → refresh rotation → reuse of a rotated token
 * revokes the family → logout; access tokens as the gateway verifies them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bearer, call, gatewayVerifier, jwtHeader, login, PASSWORD, PROBLEM, setupIdentity, suffix, TENANT, verifiedAccount, type TestIdentity } from './support.ts';

let t: TestIdentity;
let url: string;
beforeAll(async () => {
  t = await setupIdentity();
  ({ url } = await t.start());
});
afterAll(() => t.cleanup());

describe('registration and email verification', () => {
  it('when an account registers, then a single-use verification token is emailed through notifications and login waits for it', async () => {
    const email = `Reg-${suffix()}@Example.test`;
    const reg = await call(url, 'POST', '/v1/accounts', { tenant: TENANT, email, password: PASSWORD, displayName: 'Ada' });
    expect(reg.status).toBe(202);
    expect(reg.body).toEqual({ status: 'accepted' });

    const mail = await t.mail.next(email.toLowerCase(), 'verify-email');
    expect(mail.body).toMatchObject({ channel: 'email', template: 'verification-code', to: email.toLowerCase() });
    expect(mail.minutes).toBe(1440);
    const tenant = (await t.db.query<{ id: string }>('SELECT id FROM tenants WHERE slug = $1', [TENANT])).rows[0]!;
    expect(mail.tenantId).toBe(tenant.id);
    // only a hash of the token is stored
    const stored = await t.db.query<{ token_hash: Buffer }>('SELECT token_hash FROM one_time_tokens');
    expect(stored.rows.some((r) => r.token_hash.toString('base64url') === mail.token || r.token_hash.toString() === mail.token)).toBe(false);

    const early = await login(url, email);
    expect(early.status).toBe(403);
    expect(early.body).toMatchObject({ code: 'IDENTITY_EMAIL_NOT_VERIFIED' });

    expect((await call(url, 'POST', '/v1/accounts/verify', { token: mail.token })).status).toBe(200);
    const again = await call(url, 'POST', '/v1/accounts/verify', { token: mail.token });
    expect(again.status).toBe(400);
    expect(again.headers.get('content-type')).toBe(PROBLEM);
    expect(again.body).toMatchObject({ code: 'IDENTITY_ONE_TIME_TOKEN_INVALID' });

    expect((await login(url, email)).status).toBe(201);
  });

  it('when the email already has an account, then the answer is the same 202 and no second account or mail appears', async () => {
    const { email } = await verifiedAccount(t, url);
    const before = t.mail.mails.length;
    const reg = await call(url, 'POST', '/v1/accounts', { tenant: TENANT, email: email.toUpperCase(), password: 'another-long-passphrase' });
    expect(reg.status).toBe(202);
    expect(reg.body).toEqual({ status: 'accepted' });
    expect((await t.db.query('SELECT 1 FROM users WHERE email = $1', [email])).rowCount).toBe(1);
    // a later registration's mail arrives; none for the duplicate came before it
    const { email: other } = await verifiedAccount(t, url);
    expect(t.mail.mails.slice(before).map((m) => m.to)).toEqual([other]);
    // the first password still works, the second does not
    expect((await login(url, email)).status).toBe(201);
    expect((await login(url, email, 'another-long-passphrase')).status).toBe(401);
  });

  it('when a verification token has expired, then it is refused and a resend issues a fresh one that works', async () => {
    const email = `exp-${suffix()}@example.test`;
    await call(url, 'POST', '/v1/accounts', { tenant: TENANT, email, password: PASSWORD });
    const first = await t.mail.next(email, 'verify-email');
    await t.db.query(`UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE user_id = (SELECT id FROM users WHERE email = $1)`, [email]);
    expect((await call(url, 'POST', '/v1/accounts/verify', { token: first.token })).body).toMatchObject({ code: 'IDENTITY_ONE_TIME_TOKEN_INVALID' });

    expect((await call(url, 'POST', '/v1/accounts/verify/resend', { tenant: TENANT, email })).status).toBe(202);
    const second = await t.mail.next(email, 'verify-email');
    expect(second.token).not.toBe(first.token);
    expect((await call(url, 'POST', '/v1/accounts/verify', { token: second.token })).status).toBe(200);
  });

  it('when an email is in ADMIN_EMAILS, then the account gets the admin roles; others the customer roles', async () => {
    const { email } = await verifiedAccount(t, url, 'boss@acme.test');
    const admin = await login(url, email);
    const payload = await gatewayVerifier(url)(admin.body.accessToken);
    expect(payload.roles).toEqual(['admin', 'customer', 'orders', 'payments', 'gateway-admin']);
  });
});

describe('sessions', () => {
  it('when an account logs in, then the access token is an ES256 JWT the gateway accepts unchanged, with sub, tenant, roles, scope, iss, aud and kid', async () => {
    const { email } = await verifiedAccount(t, url);
    const res = await login(url, email);
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 600 });

    const header = jwtHeader(res.body.accessToken);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const jwks = await call(url, 'GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toContain(header.kid);
    expect(jwks.body.keys.every((k: Record<string, unknown>) => k.d === undefined)).toBe(true);

    const payload = await gatewayVerifier(url)(res.body.accessToken);
    const user = (await t.db.query<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM users WHERE email = $1', [email])).rows[0]!;
    expect(payload).toMatchObject({ sub: user.id, tenant: user.tenant_id, roles: ['customer', 'orders', 'payments'], scope: 'openid profile', sid: res.body.sessionId, iss: 'http://127.0.0.1:8081', aud: 'bulwark' });
    expect(payload.exp! - payload.iat!).toBe(600);

    const me = await call(url, 'GET', '/v1/me', undefined, bearer(res.body.accessToken));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: user.id, email, emailVerified: true, roles: ['customer', 'orders', 'payments'], tenant: { slug: TENANT, name: 'Acme Inc' } });

    const patched = await call(url, 'PATCH', '/v1/me', { displayName: 'Grace' }, bearer(res.body.accessToken));
    expect(patched.status).toBe(200);
    expect(patched.body.displayName).toBe('Grace');
  });

  it('when refresh tokens rotate and a rotated one is used again, then the whole family is revoked: its newest token and access tokens stop working at identity', async () => {
    const { email } = await verifiedAccount(t, url);
    const first = (await login(url, email)).body;
    const second = await call(url, 'POST', '/v1/sessions/refresh', { refreshToken: first.refreshToken });
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect(second.body.sessionId).toBe(first.sessionId);
    const third = await call(url, 'POST', '/v1/sessions/refresh', { refreshToken: second.body.refreshToken });
    expect(third.status).toBe(200);
    expect((await call(url, 'GET', '/v1/me', undefined, bearer(third.body.accessToken))).status).toBe(200);

    // the first token again: reuse
    const reuse = await call(url, 'POST', '/v1/sessions/refresh', { refreshToken: first.refreshToken });
    expect(reuse.status).toBe(401);
    expect(reuse.headers.get('content-type')).toBe(PROBLEM);
    expect(reuse.body).toMatchObject({ code: 'IDENTITY_REFRESH_TOKEN_INVALID' });
    const session = await t.db.query<{ revoked_reason: string }>('SELECT revoked_reason FROM sessions WHERE id = $1', [first.sessionId]);
    expect(session.rows[0]!.revoked_reason).toBe('reuse');

    // the newest token of the family is dead too, and identity refuses its access tokens
    expect((await call(url, 'POST', '/v1/sessions/refresh', { refreshToken: third.body.refreshToken })).status).toBe(401);
    const me = await call(url, 'GET', '/v1/me', undefined, bearer(third.body.accessToken));
    expect(me.status).toBe(401);
    expect(me.body).toMatchObject({ code: 'IDENTITY_UNAUTHENTICATED' });
    // other sessions of the same account are untouched
    expect((await login(url, email)).status).toBe(201);
  });

  it('when the same refresh token is sent twice at once, then exactly one exchange succeeds and the family is revoked', async () => {
    const { email } = await verifiedAccount(t, url);
    const first = (await login(url, email)).body;
    const results = await Promise.all([0, 1].map(() => call(url, 'POST', '/v1/sessions/refresh', { refreshToken: first.refreshToken })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    expect((await t.db.query<{ revoked_reason: string }>('SELECT revoked_reason FROM sessions WHERE id = $1', [first.sessionId])).rows[0]!.revoked_reason).toBe('reuse');
  });

  it('when a session logs out, then its refresh tokens are refused; logout of an unknown token is 204 too', async () => {
    const { email } = await verifiedAccount(t, url);
    const first = (await login(url, email)).body;
    const rotated = (await call(url, 'POST', '/v1/sessions/refresh', { refreshToken: first.refreshToken })).body;
    const out = await call(url, 'POST', '/v1/sessions/logout', { refreshToken: rotated.refreshToken });
    expect(out.status).toBe(204);
    expect((await call(url, 'POST', '/v1/sessions/refresh', { refreshToken: rotated.refreshToken })).status).toBe(401);
    expect((await call(url, 'GET', '/v1/me', undefined, bearer(rotated.accessToken))).status).toBe(401);
    expect((await t.db.query<{ revoked_reason: string }>('SELECT revoked_reason FROM sessions WHERE id = $1', [first.sessionId])).rows[0]!.revoked_reason).toBe('logout');
    expect((await call(url, 'POST', '/v1/sessions/logout', { refreshToken: 'x'.repeat(43) })).status).toBe(204);
  });

  it('when a refresh token has expired, then it is refused without revoking anything else', async () => {
    const { email } = await verifiedAccount(t, url);
    const first = (await login(url, email)).body;
    await t.db.query(`UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id = $1`, [first.sessionId]);
    const res = await call(url, 'POST', '/v1/sessions/refresh', { refreshToken: first.refreshToken });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'IDENTITY_REFRESH_TOKEN_INVALID' });
  });
});
