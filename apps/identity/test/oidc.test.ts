/**
 * The OIDC provider driven by a real relying-party library (openid-client)
 * against real PostgreSQL and Redis: discovery → authorize (PKCE) → the
 * login form posted as a browser without JavaScript posts it → consent →
 * code → token → userinfo → refresh (rotated) → RP-initiated logout; client
 * credentials for a service; OAuth errors as problem+json where no client
 * can be redirected (invalid redirect URI) and as RFC 6749 JSON with the
 * problem members at the token endpoint (PKCE mismatch).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { Browser, formAction, formField, relyingParty, RP_CALLBACK, RP_LOGGED_OUT, RP_SECRET, SERVICE_SECRET, startWithIssuer } from './oidc-support.ts';
import { call, login, PASSWORD, PROBLEM, setupIdentity, TENANT, verifiedAccount, type TestIdentity } from './support.ts';

let t: TestIdentity;
let url: string;
let rp: oidc.Configuration;
beforeAll(async () => {
  t = await setupIdentity();
  ({ url } = await startWithIssuer(t));
  rp = await relyingParty(url);
});
afterAll(() => t.cleanup());

/** Starts an authorization request with PKCE (prompt=consent: OIDC grants offline_access only with it); returns what the RP keeps and the URL the browser opens. */
async function authorize(config: oidc.Configuration, scope = 'openid profile email offline_access', extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authUrl = oidc.buildAuthorizationUrl(config, { redirect_uri: RP_CALLBACK, scope, state, nonce, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', prompt: 'consent', ...extra });
  return { verifier, state, nonce, authUrl: authUrl.toString() };
}

/** The browser part: login page → form POST → consent page → confirm → the redirect to the RP's callback with the code. */
async function signIn(browser: Browser, authUrl: string, email: string, password = PASSWORD): Promise<string> {
  const loginPage = await browser.follow(authUrl, RP_CALLBACK);
  expect(loginPage.status).toBe(200);
  const consent = await browser.follow(new URL(formAction(loginPage.html, 'login'), url).toString(), RP_CALLBACK, { form: { csrf: formField(loginPage.html, 'csrf'), tenant: TENANT, email, password } });
  expect(consent.status).toBe(200);
  expect(consent.html).toContain('<h1>Allow access</h1>');
  const done = await browser.follow(new URL(formAction(consent.html, 'confirm'), url).toString(), RP_CALLBACK, { form: { csrf: formField(consent.html, 'csrf') } });
  expect(done.location).toMatch(new RegExp(`^${RP_CALLBACK}\\?`));
  return done.location!;
}

describe('the OIDC provider with openid-client', () => {
  it('when a relying party discovers the provider, then the metadata names PKCE S256, the flows, and identity\'s own JWKS', async () => {
    const meta = rp.serverMetadata();
    expect(meta.issuer).toBe(url);
    expect(meta.jwks_uri).toBe(`${url}/.well-known/jwks.json`);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
    expect(meta.end_session_endpoint).toBe(`${url}/oidc/session/end`);
    expect(meta.userinfo_endpoint).toBe(`${url}/oidc/me`);
    expect(meta.id_token_signing_alg_values_supported).toContain('ES256');
  });

  it('when a user signs in through the code flow with PKCE, then tokens, userinfo, refresh rotation and RP-initiated logout work end to end', async () => {
    const { email } = await verifiedAccount(t, url);
    const browser = new Browser();
    const { verifier, state, nonce, authUrl } = await authorize(rp);

    // the login page: server-rendered, accessible, with a CSRF field, no script
    const loginPage = await browser.follow(authUrl, RP_CALLBACK);
    expect(loginPage.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(loginPage.html).toContain('<html lang="en">');
    for (const id of ['tenant', 'email', 'password']) expect(loginPage.html).toMatch(new RegExp(`<label for="${id}">[^<]+</label>\\s*<input id="${id}"`));
    expect(loginPage.html).toContain('autofocus');
    expect(loginPage.html).not.toContain('<script');
    expect(loginPage.headers.get('content-security-policy')).toContain("default-src 'none'");

    const callback = await signIn(browser, authUrl, email);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims()!;
    const user = (await t.db.query<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM users WHERE email = $1', [email])).rows[0]!;
    expect(claims.sub).toBe(user.id);
    expect(claims.amr).toEqual(['pwd']);
    expect(decodeProtectedHeader(tokens.id_token!)).toMatchObject({ alg: 'ES256' });
    // one key story: the ID token is signed by the key that signs password logins' access tokens
    const passwordLogin = await login(url, email);
    expect(decodeProtectedHeader(tokens.id_token!).kid).toBe(decodeProtectedHeader(passwordLogin.body.accessToken as string).kid);

    const info = await oidc.fetchUserInfo(rp, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ sub: user.id, email, email_verified: true, tenant: user.tenant_id, roles: ['customer', 'orders', 'payments'] });

    // refresh: a new pair; the old refresh token is spent
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeDefined();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await oidc.fetchUserInfo(rp, refreshed.access_token, claims.sub)).sub).toBe(user.id);
    const second = await oidc.refreshTokenGrant(rp, refreshed.refresh_token!);
    expect((await oidc.fetchUserInfo(rp, second.access_token, claims.sub)).sub).toBe(user.id);

    // the provider's state is in PostgreSQL, not in memory
    const models = (await t.db.query<{ model: string }>('SELECT DISTINCT model FROM oidc_payloads')).rows.map((r) => r.model);
    expect(models).toEqual(expect.arrayContaining(['Session', 'Grant', 'AuthorizationCode', 'AccessToken', 'RefreshToken']));

    // reuse of a spent refresh token revokes the grant: every token of it, like identity's own refresh families
    await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.fetchUserInfo(rp, second.access_token, claims.sub)).rejects.toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
    await expect(oidc.refreshTokenGrant(rp, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    // RP-initiated logout: the confirmation form (no JavaScript), then back to the RP
    const endSession = oidc.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: RP_LOGGED_OUT, state: 'bye' });
    const confirm = await browser.follow(endSession.toString(), RP_LOGGED_OUT);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('<html lang="en">');
    const xsrf = formField(confirm.html, 'xsrf');
    const out = await browser.follow(`${url}/oidc/session/end/confirm`, RP_LOGGED_OUT, { form: { xsrf, logout: 'yes' } });
    expect(out.location).toBe(`${RP_LOGGED_OUT}?state=bye`);
    // the session is gone: the next authorization asks for the password again
    const again = await authorize(rp);
    const page = await browser.follow(again.authUrl, RP_CALLBACK);
    expect(page.html).toContain('<h1>Sign in</h1>');
  });

  it('when the password is reset, then the account\'s OIDC grants and provider session end too: refresh, userinfo and silent sign-in are refused', async () => {
    const { email } = await verifiedAccount(t, url);
    const browser = new Browser();
    const { verifier, state, nonce, authUrl } = await authorize(rp);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(await signIn(browser, authUrl, email)), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const sub = tokens.claims()!.sub;
    expect((await oidc.fetchUserInfo(rp, tokens.access_token, sub)).sub).toBe(sub);

    await call(url, 'POST', '/v1/password-resets', { tenant: TENANT, email });
    const mail = await t.mail.next(email, 'reset-password');
    expect((await call(url, 'POST', '/v1/password-resets/confirm', { token: mail.token, password: 'a-brand-new-passphrase-7' })).status).toBe(204);

    await expect(oidc.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.fetchUserInfo(rp, tokens.access_token, sub)).rejects.toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
    // the browser's provider session is gone: the next authorization asks for the password
    const again = await authorize(rp, 'openid');
    expect((await browser.follow(again.authUrl, RP_CALLBACK)).html).toContain('<h1>Sign in</h1>');
  });

  it('when a client revokes its refresh token, then the token stops working; another client\'s revocation leaves it alone', async () => {
    const { email } = await verifiedAccount(t, url);
    const { verifier, state, nonce, authUrl } = await authorize(rp);
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(await signIn(new Browser(), authUrl, email)), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const other = await relyingParty(url, 'shop-web-post', RP_SECRET, 'post');
    // RFC 7009: the answer is 200 either way; another client's token is left alone
    await oidc.tokenRevocation(other, tokens.refresh_token!);
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    await oidc.tokenRevocation(rp, refreshed.refresh_token!);
    await expect(oidc.refreshTokenGrant(rp, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('when a service uses client credentials, then it gets an ES256 JWT for the platform API that verifies against identity\'s JWKS with the gateway\'s rules', async () => {
    const orders = await relyingParty(url, 'orders', SERVICE_SECRET);
    const tokens = await oidc.clientCredentialsGrant(orders, { scope: 'api' });
    expect(tokens.token_type).toBe('bearer');
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`)), { issuer: url, audience: 'bulwark', algorithms: ['ES256'] });
    expect(payload).toMatchObject({ sub: 'orders', client_id: 'orders', roles: ['service'], scope: 'api' });

    const wrong = await fetch(`${url}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('orders:not-the-secret').toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client', code: 'IDENTITY_OAUTH_REQUEST_INVALID', status: 401 });
  });

  it('when the redirect URI is not registered, then nobody is redirected: problem+json to API clients, an error page to browsers', async () => {
    const { authUrl } = await authorize(rp, 'openid', { redirect_uri: 'https://evil.example/steal' });
    const api = await fetch(authUrl, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(api.status).toBe(400);
    expect(api.headers.get('content-type')).toBe(PROBLEM);
    expect(api.headers.get('location')).toBeNull();
    expect(await api.json()).toMatchObject({ status: 400, code: 'IDENTITY_OAUTH_REQUEST_INVALID', error: 'invalid_redirect_uri' });

    const page = await new Browser().request(authUrl);
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    expect(page.html).toContain('<html lang="en">');
    expect(page.html).toContain('invalid_redirect_uri');
  });

  it('when the code verifier does not match the challenge, then the token endpoint refuses with invalid_grant (and problem members) and the code is spent', async () => {
    const { email } = await verifiedAccount(t, url);
    const { state, nonce, authUrl } = await authorize(rp);
    const callback = await signIn(new Browser(), authUrl, email);
    const code = new URL(callback).searchParams.get('code')!;

    const raw = await fetch(`${url}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`shop-web:${'rp-secret-0123456789abcdef0123456789abcdef'}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: RP_CALLBACK, code_verifier: oidc.randomPKCECodeVerifier() }).toString(),
    });
    expect(raw.status).toBe(400);
    expect(raw.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await raw.json()).toMatchObject({ error: 'invalid_grant', code: 'IDENTITY_OAUTH_REQUEST_INVALID', status: 400, type: expect.stringContaining('identity-oauth-request-invalid') });

    // openid-client sees the OAuth error as well
    const another = await authorize(rp);
    const secondCallback = await signIn(new Browser(), another.authUrl, email);
    await expect(oidc.authorizationCodeGrant(rp, new URL(secondCallback), { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: another.state, expectedNonce: another.nonce })).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(state).toBeDefined();
    expect(nonce).toBeDefined();
  });

  it('when an authorization request has no code challenge, then the client is sent back with invalid_request (PKCE is required for every client)', async () => {
    const spa = await relyingParty(url, 'shop-spa', undefined);
    const authUrl = oidc.buildAuthorizationUrl(spa, { redirect_uri: RP_CALLBACK, scope: 'openid', state: 's1' });
    const res = await new Browser().request(authUrl.toString());
    expect(res.status).toBe(303);
    const back = new URL(res.location!);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('when the login form is posted without the CSRF token or from another browser, then it is refused and nobody is signed in', async () => {
    const { email } = await verifiedAccount(t, url);
    const browser = new Browser();
    const { authUrl } = await authorize(rp);
    const page = await browser.follow(authUrl, RP_CALLBACK);
    const action = new URL(formAction(page.html, 'login'), url).toString();

    const noToken = await browser.request(action, { form: { csrf: 'forged', tenant: TENANT, email, password: PASSWORD }, headers: { accept: 'application/json' } });
    expect(noToken.status).toBe(400);
    expect(noToken.headers.get('content-type')).toBe(PROBLEM);
    expect(JSON.parse(noToken.html)).toMatchObject({ code: 'IDENTITY_INTERACTION_INVALID' });

    const otherBrowser = await new Browser().request(action, { form: { csrf: formField(page.html, 'csrf'), tenant: TENANT, email, password: PASSWORD } });
    expect(otherBrowser.status).toBe(400);
    expect(otherBrowser.location).toBeUndefined();

    const json = await browser.request(action, { form: { csrf: formField(page.html, 'csrf') }, headers: { 'content-type': 'application/json' } });
    expect(json.status).toBe(400);

    // the real browser still can sign in with its token
    const ok = await browser.follow(action, RP_CALLBACK, { form: { csrf: formField(page.html, 'csrf'), tenant: TENANT, email, password: PASSWORD } });
    expect(ok.html).toContain('<h1>Allow access</h1>');
  });

  it('when the password is wrong, then the login page comes back with an announced error and the field values kept (not the password)', async () => {
    const { email } = await verifiedAccount(t, url);
    const browser = new Browser();
    const { authUrl } = await authorize(rp);
    const page = await browser.follow(authUrl, RP_CALLBACK);
    const wrong = await browser.request(new URL(formAction(page.html, 'login'), url).toString(), { form: { csrf: formField(page.html, 'csrf'), tenant: TENANT, email, password: 'not-the-password-at-all' } });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('role="alert"');
    expect(wrong.html).toContain('aria-describedby="form-error"');
    expect(wrong.html).toContain(`value="${email}"`);
    expect(wrong.html).not.toContain('not-the-password-at-all');
  });
});
