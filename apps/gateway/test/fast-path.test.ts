/**
 * The proxy is served before Express (a service-kit raw handler): proxied and
 * refused requests keep the kit's observability (request id, trace context,
 * RED metrics, the log line), the kit's own paths stay the kit's even under a
 * catch-all route, and in-flight proxied requests drain at shutdown.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { startGateway, startIssuer, startUpstream, type Issuer, type TestGateway, type Upstream } from './support.ts';

let upstream: Upstream;
let issuer: Issuer;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  issuer = await startIssuer('ES256');
  gw = await startGateway(
    {
      upstreams: { u: { url: upstream.url } },
      cors: { allowedOrigins: ['https://app.example'] },
      routes: [
        { id: 'secure', match: { prefix: '/secure' }, upstream: 'u', auth: { required: true, roles: ['admin'] } },
        { id: 'all', match: { prefix: '/' }, upstream: 'u' },
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

describe('proxied requests served before Express', () => {
  it('when a request is proxied, then request id and trace context go upstream and back, and it is logged and counted under its route', async () => {
    const res = await request(`${gw.url}/things/1?secret=x`, { headers: { 'x-request-id': 'fast-1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
    const body = (await res.body.json()) as { url: string; headers: Record<string, string> };
    expect(res.statusCode).toBe(200);
    expect(body.url).toBe('/things/1?secret=x');
    expect(body.headers['x-request-id']).toBe('fast-1');
    expect(body.headers.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(res.headers['x-request-id']).toBe('fast-1');
    expect(res.headers.traceparent).toBe(body.headers.traceparent); // the upstream's parent is the gateway's server span
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const line = gw.logs.find((l) => l.msg === 'request completed' && l.reqId === 'fast-1');
    expect(line).toMatchObject({ route: 'proxy:all', path: '/things/1', status: 200, method: 'GET', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    expect(await gw.gateway.metrics.metrics()).toMatch(/http_server_request_duration_seconds_count\{[^}]*route="proxy:all"[^}]*status_code="200"[^}]*\} [1-9]/);
  });

  it('when a request has no x-request-id, then the gateway mints one and sends the same one upstream and back', async () => {
    const res = await request(`${gw.url}/things/2`);
    const body = (await res.body.json()) as { headers: Record<string, string> };
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers['x-request-id']).not.toBe(res.headers.traceparent?.toString().split('-')[1]);
    expect(body.headers['x-request-id']).toBe(res.headers['x-request-id']);
  });

  it('when a proxied request is refused, then 401 problem+json with WWW-Authenticate, the request id, security headers, a refusal log line and the metric', async () => {
    const before = upstream.seen.length;
    const res = await request(`${gw.url}/secure/x`, { headers: { 'x-request-id': 'fast-401' } });
    const body = (await res.body.json()) as Record<string, unknown>;
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.headers['x-request-id']).toBe('fast-401');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(body).toMatchObject({ status: 401, code: 'TOKEN_MISSING', instance: '/secure/x' });
    expect(upstream.seen.length).toBe(before);
    expect(gw.logs.find((l) => l.msg === 'request refused' && l.reqId === 'fast-401')).toMatchObject({ code: 'TOKEN_MISSING', status: 401 });
    expect(gw.logs.find((l) => l.msg === 'request completed' && l.reqId === 'fast-401')).toMatchObject({ route: 'proxy:secure', status: 401 });
    expect(await gw.gateway.metrics.metrics()).toMatch(/route="proxy:secure"[^}]*status_code="401"/);
  });

  it('when a token lacks the role, then 403 problem+json', async () => {
    const token = await issuer.sign({ sub: 'u1', roles: ['reader'] });
    const res = await request(`${gw.url}/secure/x`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toContain('application/problem+json');
    await res.body.dump();
  });

  it('when a CORS preflight arrives, then it is answered at the edge and never proxied', async () => {
    const before = upstream.seen.length;
    const res = await request(`${gw.url}/things/1`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' } });
    await res.body.dump();
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers.vary).toBe('origin');
    expect(upstream.seen.length).toBe(before);
  });

  it('when a catch-all route exists, then /healthz, /metrics and /admin/state are still answered by the kit, in any case', async () => {
    const before = upstream.seen.length;
    const health = await request(`${gw.url}/healthz`);
    expect(await health.body.json()).toEqual({ status: 'ok' });
    const upper = await request(`${gw.url}/HEALTHZ`);
    expect(await upper.body.json()).toEqual({ status: 'ok' });
    const metrics = await request(`${gw.url}/metrics`);
    expect(await metrics.body.text()).toContain('http_server_request_duration_seconds');
    const admin = await request(`${gw.url}/admin/state`);
    await admin.body.dump();
    expect(admin.statusCode).toBe(401);
    const token = await issuer.sign({ sub: 'op', roles: ['ops'] });
    const state = await request(`${gw.url}/admin/state`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await state.body.json()) as { routes: unknown[] }).routes).toHaveLength(2);
    expect(upstream.seen.length).toBe(before);
  });
});

describe('shutdown', () => {
  it('when the gateway stops with a proxied request in flight, then that request completes before the gateway closes', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow = await startUpstream((_req, res) => void released.then(() => res.end('late')));
    const g = await startGateway({ upstreams: { s: { url: slow.url } }, routes: [{ id: 's', match: { prefix: '/' }, upstream: 's' }] });
    try {
      const pending = request(`${g.url}/slow`);
      while (slow.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
      const stopped = g.stop();
      release();
      const res = await pending;
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('late');
      await stopped;
    } finally {
      await g.stop();
      await slow.close();
    }
  });
});
