/**
 * Versioning (path and Accept-Version, lifecycle headers, 410, unknown
 * versions, per-client metric), CORS, security headers and /admin/state.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { startGateway, startIssuer, startUpstream, type Issuer, type TestGateway, type Upstream } from './support.ts';

let upstream: Upstream;
let issuer: Issuer;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  issuer = await startIssuer('EdDSA');
  gw = await startGateway(
    {
      defaultVersion: 'v2',
      upstreams: { orders: { url: upstream.url } },
      cors: { allowedOrigins: ['https://app.example'] },
      knownClients: ['mobile'],
      routes: [
        { id: 'orders-v0', version: 'v0', match: { prefix: '/orders' }, upstream: 'orders', lifecycle: { retired: true, successor: '/v2/orders' } },
        { id: 'orders-v1', version: 'v1', match: { prefix: '/orders' }, upstream: 'orders', lifecycle: { deprecated: '2025-01-01T00:00:00Z', sunset: '2026-12-31T00:00:00Z', successor: '/v2/orders' } },
        { id: 'orders-v2', version: 'v2', match: { prefix: '/orders' }, upstream: 'orders', rewrite: { addPrefix: '/v2' } },
      ],
    },
    { JWKS_URL: issuer.jwksUrl, ADMIN_ROLE: 'ops' },
  );
});

afterAll(async () => {
  await gw.stop();
  await upstream.close();
  await issuer.close();
});

async function call(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await request(`${gw.url}${path}`, { headers, method: method as 'GET' });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('versioning', () => {
  it('when a deprecated version is called, then Deprecation, Sunset and successor Link are set', async () => {
    const res = await call('/v1/orders/7');
    expect(res.status).toBe(200);
    expect(res.headers.deprecation).toBe('@1735689600');
    expect(res.headers.sunset).toBe('Thu, 31 Dec 2026 00:00:00 GMT');
    expect(res.headers.link).toBe('</v2/orders>; rel="successor-version"');
  });

  it('when Accept-Version or the default selects the version, then that route answers', async () => {
    expect((await call('/orders/7', { 'accept-version': 'v1' })).body.url).toBe('/orders/7');
    expect((await call('/orders/7')).body.url).toBe('/v2/orders/7');
  });

  it('when a retired version is called, then 410 problem+json points at the successor and nothing is forwarded', async () => {
    const before = upstream.seen.length;
    const res = await call('/v0/orders/7');
    expect(res.status).toBe(410);
    expect(res.body).toMatchObject({ code: 'VERSION_RETIRED', successor: '/v2/orders' });
    expect(res.headers.link).toBe('</v2/orders>; rel="successor-version"');
    expect(upstream.seen.length).toBe(before);
  });

  it('when an unknown version is asked for, then 400 lists the known ones and nothing is forwarded', async () => {
    const before = upstream.seen.length;
    for (const res of [await call('/v9/orders'), await call('/orders', { 'accept-version': 'v9' })]) {
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VERSION_UNKNOWN', knownVersions: ['v0', 'v1', 'v2'] });
    }
    expect(upstream.seen.length).toBe(before);
  });

  it('when authenticated clients call, then calls are counted per version and client', async () => {
    await call('/v1/orders', { authorization: `Bearer ${await issuer.sign({ sub: 'mobile' })}` });
    const text = await (await request(`${gw.url}/metrics`)).body.text();
    expect(text).toMatch(/gateway_version_calls_total\{version="v1",client="mobile"[^}]*\} 1/);
    expect(text).toMatch(/gateway_version_calls_total\{version="v1",client="anonymous"/);
  });
});

describe('CORS and security headers', () => {
  it('when an allowed origin sends a preflight, then 204 with the allowed methods and the upstream is not called', async () => {
    const before = upstream.seen.length;
    const res = await call('/v2/orders', { origin: 'https://app.example', 'access-control-request-method': 'POST' }, 'OPTIONS');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(upstream.seen.length).toBe(before);
  });

  it('when another origin sends a preflight, then 403 problem+json', async () => {
    const res = await call('/v2/orders', { origin: 'https://evil.example', 'access-control-request-method': 'POST' }, 'OPTIONS');
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('CORS_ORIGIN_REFUSED');
  });

  it('when a proxied response goes out, then the security headers are on it', async () => {
    const res = await call('/v2/orders', { origin: 'https://app.example' });
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['access-control-expose-headers']).toContain('x-request-id');
  });
});

describe('/admin/state', () => {
  it('when called without the admin role, then 401 or 403; with it, breaker states, bulkheads and routes', async () => {
    expect((await call('/admin/state')).status).toBe(401);
    expect((await call('/admin/state', { authorization: `Bearer ${await issuer.sign({ sub: 'u', roles: ['orders'] })}` })).status).toBe(403);
    const res = await call('/admin/state', { authorization: `Bearer ${await issuer.sign({ sub: 'ops-1', roles: ['ops'] })}` });
    expect(res.status).toBe(200);
    expect(res.body.upstreams).toEqual([expect.objectContaining({ name: 'orders', breaker: expect.objectContaining({ state: 'closed' }), bulkhead: { inFlight: 0, max: 256 } })]);
    expect((res.body.routes as { id: string }[]).map((r) => r.id)).toEqual(['orders-v0', 'orders-v1', 'orders-v2']);
  });
});
