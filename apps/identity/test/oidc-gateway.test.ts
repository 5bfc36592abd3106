/**
 * The OIDC provider through the real gateway (apps/gateway/src/main.ts as its
 * own process) with identity's route entries from apps/gateway/routes.json:
 * the issuer is the gateway's address, a relying party discovers, signs in
 * (cookies and form posts pass the gateway) and exchanges the code through
 * it, then revokes the token through it; and a service's client-credentials
 * token opens a route that requires the `service` role, verified by the
 * gateway against identity's JWKS. Confidential clients authenticate with
 * client_secret_basic: the token route (identity-oidc-token) lets identity
 * authenticate the client (`upstreamAuthenticates`), so HTTP Basic passes the
 * gateway there and only there; client_secret_post works as well.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as oidc from 'openid-client';
import { freePort, redisUrl, startHttpServer, startService, type HttpServer, type Service } from '@bulwark/test-support';
import { Browser, formAction, formField, relyingParty, RP_CALLBACK, RP_SECRET, SERVICE_SECRET, startWithIssuer } from './oidc-support.ts';
import { PASSWORD, setupIdentity, TENANT, verifiedAccount, type TestIdentity } from './support.ts';

interface RouteEntry {
  id: string;
  [key: string]: unknown;
}

let t: TestIdentity;
let identityUrl: string;
let gatewayUrl: string;
let gateway: Service | undefined;
let echo: HttpServer;
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'identity-oidc-gateway-'));

beforeAll(async () => {
  const gatewayPort = await freePort();
  gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  t = await setupIdentity();
  // The issuer is the address relying parties reach: the gateway's.
  ({ url: identityUrl } = await startWithIssuer(t, { JWT_ISSUER: gatewayUrl, TRUST_PROXY_HOPS: '1' }));
  echo = await startHttpServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  const shipped = JSON.parse(readFileSync(fileURLToPath(new URL('../../gateway/routes.json', import.meta.url)), 'utf8')) as { routes: RouteEntry[]; rateLimitPolicies: unknown[] };
  const identityRoutes = shipped.routes.filter((r) => ['identity-oidc-token', 'identity-oidc', 'identity-oidc-discovery', 'identity-jwks'].includes(r.id));
  expect(identityRoutes).toHaveLength(4);
  const routes = {
    upstreams: { identity: { url: identityUrl }, echo: { url: echo.url } },
    rateLimitPolicies: shipped.rateLimitPolicies,
    routes: [...identityRoutes, { id: 'internal', version: 'v1', match: { prefix: '/internal' }, upstream: 'echo', auth: { required: true, roles: ['service'] } }],
  };
  writeFileSync(path.join(dir, 'routes.json'), JSON.stringify(routes));
  gateway = await startService({
    main: fileURLToPath(new URL('../../gateway/src/main.ts', import.meta.url)),
    name: 'gateway',
    port: gatewayPort,
    env: {
      GATEWAY_ROUTES_FILE: path.join(dir, 'routes.json'),
      JWKS_URL: `${identityUrl}/.well-known/jwks.json`,
      JWT_ISSUER: gatewayUrl,
      JWT_AUDIENCE: 'bulwark',
      REDIS_URL: redisUrl(),
      RATE_LIMIT_PREFIX: `rl:identity-oidc-gw-${gatewayPort}`,
      SHUTDOWN_DELAY_MS: '0',
    },
  });
}, 60_000);
afterAll(async () => {
  await gateway?.stop();
  await echo.close();
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('the OIDC provider through the gateway', () => {
  it('when a relying party with client_secret_basic uses the gateway as the issuer, then discovery, the login form, the code exchange with PKCE and revocation work through it', async () => {
    const { email } = await verifiedAccount(t, identityUrl);
    const rp = await relyingParty(gatewayUrl, 'shop-web', RP_SECRET, 'basic');
    expect(rp.serverMetadata().token_endpoint).toBe(`${gatewayUrl}/oidc/token`);
    const verifier = oidc.randomPKCECodeVerifier();
    const authUrl = oidc.buildAuthorizationUrl(rp, { redirect_uri: RP_CALLBACK, scope: 'openid email', state: 'gw', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const browser = new Browser();
    const page = await browser.follow(authUrl.toString(), RP_CALLBACK);
    expect(page.url.startsWith(`${gatewayUrl}/oidc/interaction/`)).toBe(true);
    const consent = await browser.follow(new URL(formAction(page.html, 'login'), gatewayUrl).toString(), RP_CALLBACK, { form: { csrf: formField(page.html, 'csrf'), tenant: TENANT, email, password: PASSWORD } });
    const done = await browser.follow(new URL(formAction(consent.html, 'confirm'), gatewayUrl).toString(), RP_CALLBACK, { form: { csrf: formField(consent.html, 'csrf') } });
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(done.location!), { pkceCodeVerifier: verifier, expectedState: 'gw' });
    expect(tokens.claims()!.iss).toBe(gatewayUrl);
    // Userinfo is read at identity itself: its access token is opaque, and the gateway refuses
    // any bearer token that is not a JWT it can verify, on every route (a gateway change).
    const info = await fetch(`${identityUrl}/oidc/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(await info.json()).toMatchObject({ sub: tokens.claims()!.sub, email });
    // Revocation authenticates the client with HTTP Basic too, through the same gateway route.
    await oidc.tokenRevocation(rp, tokens.access_token);
    expect((await fetch(`${identityUrl}/oidc/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(401);
  });

  it.each([
    ['orders', 'basic'],
    ['reports', 'post'],
  ] as const)("when service %s gets a client-credentials token with client_secret_%s through the gateway, then the gateway verifies it with identity's JWKS and forwards the service principal; without one, 401", async (clientId, method) => {
    const client = await relyingParty(gatewayUrl, clientId, SERVICE_SECRET, method);
    const { access_token } = await oidc.clientCredentialsGrant(client, { scope: 'api' });
    const ok = await fetch(`${gatewayUrl}/v1/internal/ping`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(ok.status).toBe(200);
    const forwarded = seen.at(-1)!;
    expect(forwarded.headers['x-auth-sub']).toBe(clientId);
    expect(forwarded.headers['x-auth-roles']).toBe('service');
    expect(forwarded.headers.authorization).toBeUndefined();
    expect((await fetch(`${gatewayUrl}/v1/internal/ping`)).status).toBe(401);
  });

  it('when a client sends its HTTP Basic credentials to any route but the token route, then the gateway refuses them and nothing is forwarded', async () => {
    const basic = `Basic ${Buffer.from(`orders:${SERVICE_SECRET}`).toString('base64')}`;
    const before = seen.length;
    const res = await fetch(`${gatewayUrl}/v1/internal/ping`, { headers: { authorization: basic } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('TOKEN_INVALID');
    expect((await fetch(`${gatewayUrl}/oidc/me`, { headers: { authorization: basic } })).status).toBe(401);
    expect(seen.length).toBe(before);
  });
});
