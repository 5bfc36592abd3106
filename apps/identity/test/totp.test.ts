/**
 * TOTP second factor against real PostgreSQL and Redis: enrolment with a
 * confirm step, login with a code (each step once) or a recovery code (each
 * once), wrong codes under the lockout, the tenant's rule, and the OIDC login
 * page's second step.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { totpCode } from '../src/domain/totp.ts';
import { Browser, formAction, formField, relyingParty, RP_CALLBACK, startWithIssuer } from './oidc-support.ts';
import { bearer, call, login, PASSWORD, PROBLEM, setupIdentity, TENANT, verifiedAccount, type TestIdentity } from './support.ts';

let t: TestIdentity;
let url: string;
beforeAll(async () => {
  t = await setupIdentity();
  ({ url } = await startWithIssuer(t, { LOCKOUT_THRESHOLD: '3' }));
});
afterAll(() => t.cleanup());

const THIRTY_S = 30_000;

/** A verified account with TOTP on: its secret and recovery codes. */
async function enrolled(): Promise<{ email: string; secret: string; recoveryCodes: string[]; token: string }> {
  const { email } = await verifiedAccount(t, url);
  const token = (await login(url, email)).body.accessToken as string;
  const start = await call(url, 'POST', '/v1/me/totp', undefined, bearer(token));
  expect(start.status).toBe(201);
  const secret = start.body.secret as string;
  const confirm = await call(url, 'POST', '/v1/me/totp/confirm', { code: totpCode(secret) }, bearer(token));
  expect(confirm.status).toBe(200);
  return { email, secret, token, recoveryCodes: confirm.body.recoveryCodes as string[] };
}

describe('TOTP enrolment', () => {
  it('when a user enrols, then the factor is in force only after a correct code confirms it, and secret and recovery codes are not stored in the clear', async () => {
    const { email } = await verifiedAccount(t, url);
    const token = (await login(url, email)).body.accessToken as string;
    const start = await call(url, 'POST', '/v1/me/totp', undefined, bearer(token));
    expect(start.status).toBe(201);
    expect(start.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/Bulwark:/);
    const secret = start.body.secret as string;
    expect((await call(url, 'GET', '/v1/me/totp', undefined, bearer(token))).body).toEqual({ enabled: false, pending: true, recoveryCodesLeft: 0, requiredByTenant: false });
    // pending: a login needs no code yet
    expect((await login(url, email)).status).toBe(201);

    const wrong = await call(url, 'POST', '/v1/me/totp/confirm', { code: totpCode(secret, Date.now() + 10 * THIRTY_S) }, bearer(token));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toBe(PROBLEM);
    expect(wrong.body).toMatchObject({ code: 'IDENTITY_SECOND_FACTOR_INVALID' });

    const confirm = await call(url, 'POST', '/v1/me/totp/confirm', { code: totpCode(secret) }, bearer(token));
    expect(confirm.status).toBe(200);
    const codes = confirm.body.recoveryCodes as string[];
    expect(codes).toHaveLength(10);
    expect((await call(url, 'GET', '/v1/me/totp', undefined, bearer(token))).body).toEqual({ enabled: true, pending: false, recoveryCodesLeft: 10, requiredByTenant: false });
    expect((await call(url, 'POST', '/v1/me/totp', undefined, bearer(token))).body).toMatchObject({ code: 'IDENTITY_TOTP_ALREADY_ENABLED' });

    const stored = await t.db.query<{ secret_sealed: Buffer }>('SELECT secret_sealed FROM totp_factors f JOIN users u ON u.id = f.user_id WHERE u.email = $1', [email]);
    expect(stored.rows[0]!.secret_sealed.toString('latin1')).not.toContain(secret);
    const hashes = await t.db.query<{ code_hash: Buffer }>('SELECT code_hash FROM recovery_codes r JOIN users u ON u.id = r.user_id WHERE u.email = $1', [email]);
    expect(hashes.rowCount).toBe(10);
    for (const h of hashes.rows) for (const c of codes) expect(h.code_hash.toString('latin1')).not.toContain(c.replaceAll('-', ''));
  });

  it('when bodies are malformed, then problem+json 400 and nothing changes', async () => {
    const { token } = await enrolled();
    for (const body of [{}, { code: '12345' }, { code: 123456 }, { code: '123456', extra: 1 }]) {
      const res = await call(url, 'POST', '/v1/me/totp/confirm', body, bearer(token));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'REQUEST_VALIDATION_FAILED' });
    }
    expect((await call(url, 'POST', '/v1/me/totp/confirm', { code: '123456' })).status).toBe(401);
    expect((await call(url, 'POST', '/v1/sessions', { tenant: TENANT, email: 'x@example.test', password: PASSWORD, otp: 'nope' })).status).toBe(400);
  });
});

describe('login with a second factor', () => {
  it('when the account has TOTP, then login needs a code, each code works once, and each recovery code works once', async () => {
    const { email, secret, recoveryCodes } = await enrolled();
    const none = await login(url, email);
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 'IDENTITY_SECOND_FACTOR_REQUIRED' });

    // the confirm step spent the current step's code; the next step's code is within the ±1 window
    const next = totpCode(secret, Date.now() + THIRTY_S);
    const ok = await call(url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: PASSWORD, otp: next });
    expect(ok.status).toBe(201);
    const replay = await call(url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: PASSWORD, otp: next });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ code: 'IDENTITY_SECOND_FACTOR_INVALID' });

    const recovery = recoveryCodes[0]!;
    expect((await call(url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: PASSWORD, otp: recovery.toLowerCase() })).status).toBe(201);
    expect((await call(url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: PASSWORD, otp: recovery })).body).toMatchObject({ code: 'IDENTITY_SECOND_FACTOR_INVALID' });
    const token = ok.body.accessToken as string;
    expect((await call(url, 'GET', '/v1/me/totp', undefined, bearer(token))).body).toMatchObject({ recoveryCodesLeft: 9 });
    // a wrong password never reaches the second factor
    expect((await call(url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: 'wrong-password-entirely', otp: recoveryCodes[1] })).body).toMatchObject({ code: 'IDENTITY_INVALID_CREDENTIALS' });
  });

  it('when wrong codes are guessed, then they count as failed logins and the lockout stops the guessing even with the right password', async () => {
    const { email, secret } = await enrolled();
    for (let i = 0; i < 3; i++) {
      expect((await call(url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: PASSWORD, otp: '000000' === totpCode(secret) ? '111111' : '000000' })).status).toBe(401);
    }
    const locked = await call(url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: PASSWORD, otp: totpCode(secret, Date.now() + THIRTY_S) });
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ code: 'IDENTITY_LOGIN_LOCKED' });
  });

  it('when the factor is disabled with a code, then login needs no code again; a wrong code cannot disable it', async () => {
    const { email, recoveryCodes, token } = await enrolled();
    expect((await call(url, 'POST', '/v1/me/totp/disable', { code: '000000' }, bearer(token))).body).toMatchObject({ code: 'IDENTITY_SECOND_FACTOR_INVALID' });
    expect((await call(url, 'POST', '/v1/me/totp/disable', { code: recoveryCodes[2]! }, bearer(token))).status).toBe(204);
    expect((await login(url, email)).status).toBe(201);
    expect((await t.db.query('SELECT 1 FROM recovery_codes r JOIN users u ON u.id = r.user_id WHERE u.email = $1', [email])).rowCount).toBe(0);
  });
});

describe('a tenant that requires TOTP', () => {
  it('when the account has no factor, then its tokens carry no roles until it enrols, and the factor cannot be turned off', async () => {
    await t.db.query('UPDATE tenants SET require_totp = true WHERE slug = $1', ['other']);
    try {
      const email = `req-${Date.now()}@example.test`;
      await call(url, 'POST', '/v1/accounts', { tenant: 'other', email, password: PASSWORD });
      const mail = await t.mail.next(email, 'verify-email');
      await call(url, 'POST', '/v1/accounts/verify', { token: mail.token });
      const first = await call(url, 'POST', '/v1/sessions', { tenant: 'other', email, password: PASSWORD });
      expect(first.status).toBe(201);
      expect(decodeJwt(first.body.accessToken as string)).toMatchObject({ roles: [], scope: 'totp-enrolment' });

      const token = first.body.accessToken as string;
      expect((await call(url, 'GET', '/v1/me/totp', undefined, bearer(token))).body).toMatchObject({ requiredByTenant: true, enabled: false });
      const secret = (await call(url, 'POST', '/v1/me/totp', undefined, bearer(token))).body.secret as string;
      const { recoveryCodes } = (await call(url, 'POST', '/v1/me/totp/confirm', { code: totpCode(secret) }, bearer(token))).body as { recoveryCodes: string[] };
      const after = await call(url, 'POST', '/v1/sessions', { tenant: 'other', email, password: PASSWORD, otp: totpCode(secret, Date.now() + THIRTY_S) });
      expect(decodeJwt(after.body.accessToken as string)).toMatchObject({ roles: ['customer', 'orders', 'payments'], scope: 'openid profile' });
      const off = await call(url, 'POST', '/v1/me/totp/disable', { code: recoveryCodes[0]! }, bearer(after.body.accessToken as string));
      expect(off.status).toBe(409);
      expect(off.body).toMatchObject({ code: 'IDENTITY_TOTP_REQUIRED_BY_TENANT' });
    } finally {
      await t.db.query('UPDATE tenants SET require_totp = false WHERE slug = $1', ['other']);
    }
  });
});

describe('the OIDC login page with TOTP', () => {
  it('when the account has TOTP, then the page asks for the code after the password, refuses a wrong one, and the ID token says pwd + otp', async () => {
    const { email, secret } = await enrolled();
    const rp = await relyingParty(url);
    const verifier = oidc.randomPKCECodeVerifier();
    const authUrl = oidc.buildAuthorizationUrl(rp, { redirect_uri: RP_CALLBACK, scope: 'openid', state: 'st', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const browser = new Browser();
    const page = await browser.follow(authUrl.toString(), RP_CALLBACK);
    const otpPage = await browser.request(new URL(formAction(page.html, 'login'), url).toString(), { form: { csrf: formField(page.html, 'csrf'), tenant: TENANT, email, password: PASSWORD } });
    expect(otpPage.status).toBe(200);
    expect(otpPage.html).toContain('<label for="otp">');
    expect(otpPage.html).toContain('autocomplete="one-time-code"');
    const otpAction = new URL(formAction(otpPage.html, 'otp'), url).toString();
    const form = { csrf: formField(otpPage.html, 'csrf'), ticket: formField(otpPage.html, 'ticket') };

    const wrong = await browser.request(otpAction, { form: { ...form, otp: '000000' === totpCode(secret) ? '111111' : '000000' } });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('role="alert"');
    const forged = await browser.request(otpAction, { form: { ...form, ticket: form.ticket.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), otp: totpCode(secret, Date.now() + THIRTY_S) }, headers: { accept: 'application/json' } });
    expect(forged.status).toBe(400);

    const consent = await browser.follow(otpAction, RP_CALLBACK, { form: { ...form, otp: totpCode(secret, Date.now() + THIRTY_S) } });
    const done = await browser.follow(new URL(formAction(consent.html, 'confirm'), url).toString(), RP_CALLBACK, { form: { csrf: formField(consent.html, 'csrf') } });
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(done.location!), { pkceCodeVerifier: verifier, expectedState: 'st' });
    expect(tokens.claims()!.amr).toEqual(['pwd', 'otp']);
  });
});
