/**
 * Bad input is answered with RFC 9457 problem+json 4xx and stores nothing:
 * malformed bodies, weak passwords, unknown tenants, forged, expired and
 * foreign tokens. The OpenAPI document is valid and lists every route.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPair, SignJWT } from 'jose';
import { Validator } from '@seriousme/openapi-schema-validator';
import { bearer, call, login, PASSWORD, PROBLEM, setupIdentity, TENANT, verifiedAccount, type TestIdentity } from './support.ts';

let t: TestIdentity;
let url: string;
beforeAll(async () => {
  t = await setupIdentity();
  ({ url } = await t.start());
});
afterAll(() => t.cleanup());

const users = async (): Promise<number> => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0]!.n;

function expectProblem(r: { status: number; headers: Headers; body: Record<string, unknown> }, status: number, code: string): void {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toBe(PROBLEM);
  expect(r.body).toMatchObject({ status, code });
}

describe('bad input to registration', () => {
  it.each([
    ['a malformed email', { tenant: TENANT, email: 'not-an-email', password: PASSWORD }],
    ['a missing password', { tenant: TENANT, email: 'a@example.test' }],
    ['an unknown member', { tenant: TENANT, email: 'a@example.test', password: PASSWORD, roles: ['admin'] }],
    ['a bad tenant slug', { tenant: 'Not A Slug', email: 'a@example.test', password: PASSWORD }],
    ['U+0000 in the email', { tenant: TENANT, email: 'a\u0000@example.test', password: PASSWORD }],
    ['a number for the password', { tenant: TENANT, email: 'a@example.test', password: 123456789012345 }],
  ])('when registration has %s, then 400 REQUEST_VALIDATION_FAILED and nothing is stored', async (_what, body) => {
    expectProblem(await call(url, 'POST', '/v1/accounts', body), 400, 'REQUEST_VALIDATION_FAILED');
    expect(await users()).toBe(0);
  });

  it('when the password is short or common, then 422 IDENTITY_PASSWORD_TOO_WEAK names why and nothing is stored', async () => {
    const short = await call(url, 'POST', '/v1/accounts', { tenant: TENANT, email: 'a@example.test', password: 'short' });
    expectProblem(short, 422, 'IDENTITY_PASSWORD_TOO_WEAK');
    expect(short.body.reasons).toEqual(['too-short']);
    expect((await call(url, 'POST', '/v1/accounts', { tenant: TENANT, email: 'a@example.test', password: 'Password2024!' })).body.reasons).toEqual(['common']);
    expect(await users()).toBe(0);
  });

  it('when the tenant does not exist, then 422 IDENTITY_TENANT_UNKNOWN', async () => {
    expectProblem(await call(url, 'POST', '/v1/accounts', { tenant: 'nope', email: 'a@example.test', password: PASSWORD }), 422, 'IDENTITY_TENANT_UNKNOWN');
  });

  it('when the body is not JSON or nested too deep, then 400/415 problem+json', async () => {
    expectProblem(await call(url, 'POST', '/v1/accounts', '{"tenant":'), 400, 'MALFORMED_JSON');
    const res = await fetch(`${url}/v1/accounts`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(res.status).toBe(415);
    const deep = `{"tenant":"${TENANT}","email":"a@example.test","password":"${PASSWORD}","x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expectProblem(await call(url, 'POST', '/v1/accounts', deep), 400, 'JSON_TOO_DEEP');
    expect(await users()).toBe(0);
  });
});

describe('bad tokens', () => {
  it('when a verification or reset token is forged or malformed, then 400 problem+json', async () => {
    expectProblem(await call(url, 'POST', '/v1/accounts/verify', { token: 'A'.repeat(43) }), 400, 'IDENTITY_ONE_TIME_TOKEN_INVALID');
    expectProblem(await call(url, 'POST', '/v1/accounts/verify', { token: 'short' }), 400, 'REQUEST_VALIDATION_FAILED');
    expectProblem(await call(url, 'POST', '/v1/password-resets/confirm', { token: 'B'.repeat(43), password: PASSWORD }), 400, 'IDENTITY_ONE_TIME_TOKEN_INVALID');
  });

  it('when a refresh token is forged or malformed, then 401 / 400 problem+json', async () => {
    expectProblem(await call(url, 'POST', '/v1/sessions/refresh', { refreshToken: 'C'.repeat(43) }), 401, 'IDENTITY_REFRESH_TOKEN_INVALID');
    expectProblem(await call(url, 'POST', '/v1/sessions/refresh', { refreshToken: 'has spaces and !' }), 400, 'REQUEST_VALIDATION_FAILED');
    expectProblem(await call(url, 'POST', '/v1/sessions/refresh', {}), 400, 'REQUEST_VALIDATION_FAILED');
  });

  it('when /v1/me gets no token, a malformed one, one signed by another key, an HS256 one, or an expired one, then 401 with a Bearer challenge', async () => {
    const { email } = await verifiedAccount(t, url);
    const real = (await login(url, email)).body.accessToken as string;
    const claims = JSON.parse(Buffer.from(real.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const kid = JSON.parse(Buffer.from(real.split('.')[0]!, 'base64url').toString()).kid as string;
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(privateKey);
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(new TextEncoder().encode('x'.repeat(32)));
    const tampered = `${real.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url')}.${real.split('.')[2]}`;

    const none = await call(url, 'GET', '/v1/me');
    expectProblem(none, 401, 'IDENTITY_UNAUTHENTICATED');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    for (const token of ['not.a.jwt!', foreign, hs, tampered]) {
      const r = await call(url, 'GET', '/v1/me', undefined, bearer(token));
      expectProblem(r, 401, 'IDENTITY_UNAUTHENTICATED');
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    }
    const expired = await call(url, 'GET', '/v1/me', undefined, bearer(await (async () => {
      const { privateKey: k } = await generateKeyPair('ES256');
      return new SignJWT({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(k);
    })()));
    expectProblem(expired, 401, 'IDENTITY_UNAUTHENTICATED');
    expect((await call(url, 'GET', '/v1/me', undefined, bearer(real))).status).toBe(200);
  });

  it('when PATCH /v1/me carries a member it does not allow, then 400 and the profile is unchanged', async () => {
    const { email } = await verifiedAccount(t, url);
    const token = (await login(url, email)).body.accessToken as string;
    expectProblem(await call(url, 'PATCH', '/v1/me', { email: 'evil@example.test' }, bearer(token)), 400, 'REQUEST_VALIDATION_FAILED');
    expectProblem(await call(url, 'PATCH', '/v1/me', { roles: ['admin'] }, bearer(token)), 400, 'REQUEST_VALIDATION_FAILED');
    expect((await call(url, 'GET', '/v1/me', undefined, bearer(token))).body.email).toBe(email);
  });
});

describe('operational endpoints', () => {
  it('when /openapi.json is read, then it is a valid OpenAPI 3.1 document with every route and its problem codes', async () => {
    const doc = (await call(url, 'GET', '/openapi.json')).body;
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/.well-known/jwks.json', '/.well-known/openid-configuration', '/graphql', '/v1/accounts', '/v1/accounts/verify', '/v1/accounts/verify/resend', '/v1/internal/accounts/{id}', '/v1/me', '/v1/me/addresses', '/v1/me/addresses/{id}',
        '/v1/me/totp', '/v1/me/totp/confirm', '/v1/me/totp/disable', '/v1/invitations/accept', '/v1/organizations', '/v1/organizations/{orgId}', '/v1/organizations/{orgId}/invitations',
        '/v1/organizations/{orgId}/invitations/{invitationId}', '/v1/organizations/{orgId}/members', '/v1/organizations/{orgId}/members/{userId}',
        '/v1/password-resets', '/v1/password-resets/confirm', '/v1/sessions', '/v1/sessions/logout', '/v1/sessions/refresh',
      ].sort(),
    );
    expect(JSON.stringify(doc.paths['/v1/sessions'].post.responses['401'])).toContain('IDENTITY_INVALID_CREDENTIALS');
    expect(JSON.stringify(doc.paths['/v1/sessions'].post.responses['429'])).toContain('IDENTITY_LOGIN_LOCKED');
    expect(JSON.stringify(doc.paths['/v1/sessions'].post.responses['401'])).toContain('IDENTITY_SECOND_FACTOR_REQUIRED');
    expect(JSON.stringify(doc.paths['/v1/organizations/{orgId}/members'].get.responses['404'])).toContain('IDENTITY_ORGANIZATION_NOT_FOUND');
  });

  it('when /healthz, /readyz and /metrics are read, then the service is live, ready and reports its own metrics', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const name of ['identity_logins_total', 'identity_key_ring_age_seconds', 'identity_password_hash_seconds', 'bulwark_ratelimit_decisions_total']) expect(metrics).toContain(name);
  });
});
