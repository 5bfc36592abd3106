/**
 * identity's tokens at the real gateway (apps/gateway/src/main.ts as its own
 * process, default JWT settings plus identity's issuer and audience): login
 * through the gateway, then a route that requires a role reaches its upstream
 * with the principal headers; a missing role is 403, no token 401.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisUrl, startHttpServer, startService, type HttpServer, type Service } from '@bulwark/test-support';
import { bearer, call, PASSWORD, setupIdentity, suffix, TENANT, verifiedAccount, type TestIdentity } from './support.ts';

let t: TestIdentity;
let identityUrl: string;
let gateway: Service | undefined;
let echo: HttpServer;
let seen: { url: string; headers: IncomingHttpHeaders }[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'identity-gateway-'));

beforeAll(async () => {
  t = await setupIdentity();
  ({ url: identityUrl } = await t.start({ TRUST_PROXY_HOPS: '1' }));
  echo = await startHttpServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  const echoUrl = echo.url;
  const routes = {
    upstreams: { identity: { url: identityUrl }, echo: { url: echoUrl } },
    routes: [
      { id: 'identity-sessions', version: 'v1', match: { prefix: '/sessions' }, upstream: 'identity', methods: ['POST'], rewrite: { addPrefix: '/v1' } },
      { id: 'orders', version: 'v1', match: { prefix: '/orders' }, upstream: 'echo', auth: { required: true, roles: ['orders'] } },
      { id: 'admin', version: 'v1', match: { prefix: '/admin-area' }, upstream: 'echo', auth: { required: true, roles: ['gateway-admin'] } },
    ],
  };
  writeFileSync(path.join(dir, 'routes.json'), JSON.stringify(routes));
  gateway = await startService({
    main: fileURLToPath(new URL('../../gateway/src/main.ts', import.meta.url)),
    name: 'gateway',
    env: {
      GATEWAY_ROUTES_FILE: path.join(dir, 'routes.json'),
      JWKS_URL: `${identityUrl}/.well-known/jwks.json`,
      JWT_ISSUER: 'http://127.0.0.1:8081',
      JWT_AUDIENCE: 'bulwark',
      REDIS_URL: redisUrl(),
      // as behind the Istio ingress, which appends the client's address to X-Forwarded-For
      TRUST_PROXY_HOPS: '1',
      SHUTDOWN_DELAY_MS: '0',
    },
  });
});
afterAll(async () => {
  await gateway?.stop();
  await echo.close();
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('identity tokens at the gateway', () => {
  it('when an account logs in through the gateway, then its token passes the gateway unchanged and the upstream gets sub, tenant and roles', async () => {
    const { email } = await verifiedAccount(t, identityUrl);
    const session = await call(gateway!.url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: PASSWORD });
    expect(session.status).toBe(201);

    seen = [];
    const order = await call(gateway!.url, 'GET', `/v1/orders/o-${suffix()}`, undefined, bearer(session.body.accessToken));
    expect(order.status).toBe(200);
    const user = (await t.db.query<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM users WHERE email = $1', [email])).rows[0]!;
    expect(seen[0]!.headers).toMatchObject({ 'x-auth-sub': user.id, 'x-auth-tenant': user.tenant_id, 'x-auth-roles': 'customer,orders,payments' });
    expect(seen[0]!.headers.authorization).toBeUndefined();

    const admin = await call(gateway!.url, 'GET', '/v1/admin-area/x', undefined, bearer(session.body.accessToken));
    expect(admin.status).toBe(403);
    expect(admin.body).toMatchObject({ code: 'ROLE_MISSING' });
    expect((await call(gateway!.url, 'GET', '/v1/orders/o-1')).status).toBe(401);
  });

  it('when a wrong password goes through the gateway, then identity answers 401 and counts it against the client address the gateway resolved, not the gateway', async () => {
    const { email } = await verifiedAccount(t, identityUrl);
    const res = await call(gateway!.url, 'POST', '/v1/sessions', { tenant: TENANT, email, password: 'not-the-password' }, { 'x-forwarded-for': '198.51.100.77' });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'IDENTITY_INVALID_CREDENTIALS' });
    const sources = await t.db.query<{ source: string }>('SELECT source FROM login_lockouts WHERE email = $1', [email]);
    expect(sources.rows.map((r) => r.source)).toEqual(['198.51.100.77']);
  });
});
