/**
 * JWT verification against a real JWKS server with jose-generated keys:
 * claims forwarded as x-auth-*, every bad token a 401 with WWW-Authenticate
 * that reaches no upstream, missing roles 403, key rotation without restart;
 * a route whose upstream authenticates the client (an OAuth token endpoint)
 * passes any Authorization through unverified, and only that route.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { request } from 'undici';
import { startGateway, startIssuer, startUpstream, type Issuer, type TestGateway, type Upstream } from './support.ts';

let upstream: Upstream;
let issuer: Issuer;
let gw: TestGateway;

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

beforeAll(async () => {
  upstream = await startUpstream();
  issuer = await startIssuer('ES256');
  gw = await startGateway(
    {
      upstreams: { orders: { url: upstream.url } },
      routes: [
        { id: 'orders', match: { prefix: '/orders' }, upstream: 'orders', auth: { required: true, roles: ['orders'] } },
        { id: 'public', match: { prefix: '/public' }, upstream: 'orders' },
        { id: 'token-endpoint', match: { prefix: '/oidc/token' }, upstream: 'orders', methods: ['POST'], upstreamAuthenticates: true },
        { id: 'token-through', match: { prefix: '/through' }, upstream: 'orders', auth: { required: true, forwardToken: true } },
        { id: 'tenant-hooks', match: { prefix: '/hooks' }, upstream: 'orders', rewrite: { stripPrefix: true, addPrefix: '/v1/tenants/{tenant}' }, auth: { required: true, roles: ['admin'] } },
      ],
    },
    { JWKS_URL: issuer.jwksUrl, JWKS_COOLDOWN_MS: '0' },
  );
});

afterAll(async () => {
  await gw.stop();
  await upstream.close();
  await issuer.close();
});

async function call(path: string, authorization?: string, extra: Record<string, string> = {}) {
  const res = await request(`${gw.url}${path}`, { headers: { ...(authorization ? { authorization } : {}), ...extra } });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('access tokens', () => {
  it('when the token is valid, then sub, tenant and roles reach the upstream and spoofed x-auth-* do not', async () => {
    const token = await issuer.sign({ sub: 'user-1', tenant: 'acme', roles: ['orders', 'reader'] });
    const res = await call('/orders/1', `Bearer ${token}`, { 'x-auth-sub': 'admin', 'x-auth-roles': 'gateway-admin' });
    expect(res.status).toBe(200);
    const headers = res.body.headers as Record<string, string>;
    expect([headers['x-auth-sub'], headers['x-auth-tenant'], headers['x-auth-roles']]).toEqual(['user-1', 'acme', 'orders,reader']);
    expect(headers.authorization).toBeUndefined(); // the verified token stops at the gateway
  });

  it('when a route sets auth.forwardToken, then the verified Authorization reaches the upstream as sent', async () => {
    const token = await issuer.sign({ sub: 'user-2', roles: [] });
    const res = await call('/through/1', `Bearer ${token}`);
    expect(res.status).toBe(200);
    const headers = res.body.headers as Record<string, string>;
    expect([headers.authorization, headers['x-auth-sub']]).toEqual([`Bearer ${token}`, 'user-2']);
  });

  const forged: [string, () => Promise<string>][] = [
    ['malformed', async () => 'Bearer not-a-jwt'],
    ['alg none', async () => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'admin', roles: ['orders'] })}.`],
    [
      'HS256 signed with the public key',
      async () => {
        const header = b64({ alg: 'HS256', typ: 'JWT', kid: issuer.publicJwk.kid });
        const payload = b64({ sub: 'admin', roles: ['orders'], exp: Math.floor(Date.now() / 1000) + 300 });
        const sig = createHmac('sha256', JSON.stringify(issuer.publicJwk)).update(`${header}.${payload}`).digest('base64url');
        return `Bearer ${header}.${payload}.${sig}`;
      },
    ],
    ['expired', async () => `Bearer ${await issuer.sign({ sub: 'u', roles: ['orders'] }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}`],
    ['tampered payload', async () => {
      const [h, , s] = (await issuer.sign({ sub: 'u', roles: [] })).split('.');
      return `Bearer ${h}.${b64({ sub: 'u', roles: ['orders'], exp: Math.floor(Date.now() / 1000) + 300 })}.${s}`;
    }],
  ];
  it.each(forged)('when the token is %s, then 401 invalid_token and nothing is forwarded', async (_name, make) => {
    const before = upstream.seen.length;
    const res = await call('/orders/1', await make());
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
    expect(res.body.code).toBe('TOKEN_INVALID');
    expect(upstream.seen.length).toBe(before);
    expect(gw.logs.some((l) => l.msg === 'request refused' && l.code === 'TOKEN_INVALID')).toBe(true);
  });

  it('when no token is sent to a protected route, then 401 with a Bearer challenge', async () => {
    const res = await call('/orders/1');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('when a route takes the tenant from the token, then the upstream path names the token\'s tenant whatever the client put in its path', async () => {
    const token = await issuer.sign({ sub: 'admin-1', tenant: 'acme/1', roles: ['admin'] });
    const own = await call('/hooks/endpoints?limit=5', `Bearer ${token}`);
    expect([own.status, own.body.code]).toEqual([200, undefined]);
    expect(own.body.url).toBe('/v1/tenants/acme%2F1/endpoints?limit=5'); // the tenant stays one path segment
    // A client naming another tenant, or the placeholder itself, in its path only adds segments after its own tenant.
    for (const [path, upstreamPath] of [
      ['/hooks/../tenants/globex/endpoints', undefined],
      ['/hooks/%7Btenant%7D/endpoints', '/v1/tenants/acme%2F1/%7Btenant%7D/endpoints'],
    ] as const) {
      const before = upstream.seen.length;
      const res = await call(path, `Bearer ${token}`);
      if (upstreamPath === undefined) {
        // Dot segments are resolved before routing (or refused): never forwarded outside the caller's tenant.
        for (const seen of upstream.seen.slice(before)) expect(seen.url.startsWith('/v1/tenants/acme%2F1/')).toBe(true);
      } else {
        expect(res.status).toBe(200);
        expect(res.body.url).toBe(upstreamPath);
      }
    }
  });

  it('when a tenant route gets a token without a tenant, then 403 TENANT_MISSING and nothing is forwarded', async () => {
    const before = upstream.seen.length;
    const res = await call('/hooks/endpoints', `Bearer ${await issuer.sign({ sub: 'svc', roles: ['admin'] })}`);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('TENANT_MISSING');
    expect(upstream.seen.length).toBe(before);
  });

  it('when the token lacks the route role, then 403 and nothing is forwarded', async () => {
    const before = upstream.seen.length;
    const res = await call('/orders/1', `Bearer ${await issuer.sign({ sub: 'u', roles: ['reader'] })}`);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('ROLE_MISSING');
    expect(upstream.seen.length).toBe(before);
  });

  it('when a route lets its upstream authenticate the client, then HTTP Basic (or any scheme) reaches it as sent with no x-auth-*; every other route still refuses it', async () => {
    const basic = `Basic ${Buffer.from('shop-web:s3cret').toString('base64')}`;
    for (const authorization of [basic, 'Bearer opaque-not-a-jwt']) {
      const res = await request(`${gw.url}/oidc/token`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', 'x-auth-sub': 'admin' }, body: 'grant_type=client_credentials' });
      const body = (await res.body.json()) as { headers: Record<string, string> };
      expect(res.statusCode).toBe(200);
      expect([body.headers.authorization, body.headers['x-auth-sub'], body.headers['x-auth-roles']]).toEqual([authorization, undefined, undefined]);
    }
    for (const path of ['/public/1', '/orders/1']) {
      const before = upstream.seen.length;
      const res = await call(path, basic);
      expect([res.status, res.body.code]).toEqual([401, 'TOKEN_INVALID']);
      expect(upstream.seen.length).toBe(before);
    }
  });

  it('when the issuer rotates its key, then new tokens verify without a restart', async () => {
    expect((await call('/orders/1', `Bearer ${await issuer.sign({ sub: 'u', roles: ['orders'] })}`)).status).toBe(200);
    await issuer.rotate();
    expect((await call('/orders/1', `Bearer ${await issuer.sign({ sub: 'u2', roles: ['orders'] })}`)).status).toBe(200);
  });
});
