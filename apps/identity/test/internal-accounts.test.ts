/**
 * The internal API for services: GET /v1/internal/accounts/{id} answers an
 * account's contact details to a client-credentials token with the `service`
 * role, fetched through @bulwark/service-kit/service-auth's provider from the
 * real OIDC provider, and refuses (problem+json) no token, a user's token, a
 * forged token and an expired one. The real gateway with the shipped routes
 * file does not route it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, SignJWT } from 'jose';
import { createClientCredentialsProvider } from '@bulwark/service-kit/service-auth';
import { redisUrl, startService, type Service } from '@bulwark/test-support';
import type { IdentityApp } from '../src/app.ts';
import { SERVICE_SECRET, startWithIssuer } from './oidc-support.ts';
import { bearer, call, jwtHeader, login, PROBLEM, setupIdentity, verifiedAccount, type TestIdentity } from './support.ts';

let t: TestIdentity;
let app: IdentityApp;
let url: string;
let account: { id: string; tenantId: string; email: string };
const dir = mkdtempSync(path.join(tmpdir(), 'identity-internal-'));

beforeAll(async () => {
  t = await setupIdentity();
  ({ app, url } = await startWithIssuer(t));
  const { email } = await verifiedAccount(t, url);
  const row = (await t.db.query<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM users WHERE email = $1', [email])).rows[0]!;
  account = { id: row.id, tenantId: row.tenant_id, email };
}, 60_000);
afterAll(async () => {
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const contact = (id: string, headers: Record<string, string> = {}) => call(url, 'GET', `/v1/internal/accounts/${id}`, undefined, headers);

/** A token signed with identity's current key, as the provider would sign it, with the claims and times given. */
async function ringToken(claims: Record<string, unknown>, iat: number, exp: number): Promise<string> {
  const signing = await app.ring.signingKey();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'at+jwt' })
    .setSubject('notifications')
    .setIssuer(url)
    .setAudience('bulwark')
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(signing.key);
}

describe('internal accounts API', () => {
  it('when notifications asks with its client-credentials token, then it gets the contact details; an unknown account is 404', async () => {
    const provider = createClientCredentialsProvider({ tokenUrl: `${url}/oidc/token`, clientId: 'notifications', clientSecret: SERVICE_SECRET });
    const r = await contact(account.id, { authorization: await provider.authorization() });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('private, no-store');
    expect(r.body).toEqual({ id: account.id, tenantId: account.tenantId, email: account.email, emailVerified: true, name: null, locale: null });
    const unknown = await contact('00000000-0000-4000-8000-000000000000', { authorization: await provider.authorization() });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'IDENTITY_ACCOUNT_NOT_FOUND' });
    expect(provider.fetches).toBe(1);
  });

  it('when the token is missing, a user\'s, another service\'s, forged or expired, then 401/403 problem+json and no contact details', async () => {
    const none = await contact(account.id);
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe(PROBLEM);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.body).toMatchObject({ code: 'TOKEN_MISSING' });

    const user = await login(url, account.email);
    const asUser = await contact(account.id, bearer(user.body.accessToken as string));
    expect(asUser.status).toBe(403);
    expect(asUser.headers.get('content-type')).toBe(PROBLEM);
    expect(asUser.body).toMatchObject({ code: 'ROLE_MISSING', requiredRoles: ['service'] });

    // Another key under the kid of identity's current one: the signature does not verify.
    const { kid } = jwtHeader(user.body.accessToken as string);
    const stranger = await generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ client_id: 'notifications', roles: ['service'] }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).setSubject('notifications').setIssuer(url).setAudience('bulwark').setIssuedAt(now).setExpirationTime(now + 300).sign(stranger.privateKey);
    const asForger = await contact(account.id, bearer(forged));
    expect(asForger.status).toBe(401);
    expect(asForger.body).toMatchObject({ code: 'TOKEN_INVALID', detail: 'signature verification failed' });

    const expired = await ringToken({ client_id: 'notifications', roles: ['service'] }, now - 900, now - 300);
    const late = await contact(account.id, bearer(expired));
    expect(late.status).toBe(401);
    expect(late.headers.get('www-authenticate')).toContain('invalid_token');
    expect(late.body).toMatchObject({ code: 'TOKEN_INVALID', detail: 'token expired' });

    // A valid service token of a client the route does not serve (INTERNAL_CLIENTS is notifications).
    const orders = createClientCredentialsProvider({ tokenUrl: `${url}/oidc/token`, clientId: 'orders', clientSecret: SERVICE_SECRET });
    const asOrders = await contact(account.id, { authorization: await orders.authorization() });
    expect(asOrders.status).toBe(403);
    expect(asOrders.headers.get('content-type')).toBe(PROBLEM);
    expect(asOrders.body).toMatchObject({ code: 'CLIENT_NOT_ALLOWED', allowedClients: ['notifications'] });
    expect(asOrders.body).not.toHaveProperty('email');

    // The same key and claims, still valid: accepted (the refusals above are about what they changed).
    expect((await contact(account.id, bearer(await ringToken({ client_id: 'notifications', roles: ['service'] }, now, now + 300)))).status).toBe(200);
  });

  it('when the request comes through the gateway with the shipped routes file, then no route leads to the internal API', async () => {
    const shipped = JSON.parse(readFileSync(fileURLToPath(new URL('../../gateway/routes.json', import.meta.url)), 'utf8')) as { upstreams: Record<string, Record<string, unknown>> };
    // Every upstream is identity here: whatever route matched, it would reach the internal API.
    for (const upstream of Object.values(shipped.upstreams)) upstream.url = url;
    writeFileSync(path.join(dir, 'routes.json'), JSON.stringify(shipped));
    let gateway: Service | undefined;
    try {
      gateway = await startService({
        main: fileURLToPath(new URL('../../gateway/src/main.ts', import.meta.url)),
        name: 'gateway',
        env: {
          GATEWAY_ROUTES_FILE: path.join(dir, 'routes.json'),
          JWKS_URL: `${url}/.well-known/jwks.json`,
          JWT_ISSUER: url,
          JWT_AUDIENCE: 'bulwark',
          REDIS_URL: redisUrl(),
          RATE_LIMIT_PREFIX: `rl:identity-internal-gw-${t.schema}`,
          SHUTDOWN_DELAY_MS: '0',
        },
      });
      const provider = createClientCredentialsProvider({ tokenUrl: `${url}/oidc/token`, clientId: 'orders', clientSecret: SERVICE_SECRET });
      const authorization = await provider.authorization();
      for (const p of [`/v1/internal/accounts/${account.id}`, `/internal/accounts/${account.id}`]) {
        const r = await call(gateway.url, 'GET', p, undefined, { authorization });
        expect(r.status).toBe(404);
        expect(r.body).toMatchObject({ code: 'GATEWAY_ROUTE_NOT_FOUND' });
      }
    } finally {
      await gateway?.stop();
    }
  }, 60_000);
});
