/**
 * Every refusal takes one path (src/http/refusal.ts): 404, 405, 401, 403
 * (role, tenant), 413, 429 and the limiter's 503 are problem+json from the
 * kit's writer with the request id, the security headers, the refusal log line
 * (5xx: the kit's error line), the completion line and the RED metric; an
 * upgrade refused on its socket carries the same problem and edge headers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { request } from 'undici';
import WebSocket from 'ws';
import { freePort, waitFor } from '@bulwark/test-support';
import { deletePrefix, redisUrl, startGateway, startIssuer, startUpstream, type Issuer, type TestGateway, type Upstream } from './support.ts';

let upstream: Upstream;
let issuer: Issuer;
let gw: TestGateway;
let closed: TestGateway;
let shared: Redis;
const prefix = `gwtest-${randomUUID()}`;

beforeAll(async () => {
  upstream = await startUpstream();
  issuer = await startIssuer('ES256');
  shared = new Redis(redisUrl());
  const policies = [{ name: 'one', algorithm: 'fixed-window', limit: 1, windowSeconds: 60 }];
  gw = await startGateway(
    {
      upstreams: { u: { url: upstream.url } },
      rateLimitPolicies: policies,
      routes: [
        { id: 'secure', match: { prefix: '/secure' }, upstream: 'u', auth: { required: true, roles: ['admin'] } },
        { id: 'mine', match: { prefix: '/mine' }, upstream: 'u', rewrite: { stripPrefix: true, addPrefix: '/v1/tenants/{tenant}' }, auth: { required: true } },
        { id: 'read-only', match: { prefix: '/ro' }, upstream: 'u', methods: ['GET'] },
        { id: 'upload', match: { prefix: '/upload' }, upstream: 'u', maxBodyBytes: 16 },
        { id: 'limited', match: { prefix: '/limited' }, upstream: 'u', rateLimits: [{ policy: 'one', by: 'ip' }] },
      ],
    },
    { JWKS_URL: issuer.jwksUrl, REDIS_URL: redisUrl(), RATE_LIMIT_PREFIX: prefix, RATE_LIMIT_TIMEOUT_MS: '5000' }, // the 429 case needs Redis's answer, not the fail-open fallback
  );
  // Fail-closed against a Redis that is not there: every check is 503.
  closed = await startGateway(
    { upstreams: { u: { url: upstream.url } }, rateLimitPolicies: policies, routes: [{ id: 'limited', match: { prefix: '/limited' }, upstream: 'u', rateLimits: [{ policy: 'one', by: 'ip' }] }] },
    { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, RATE_LIMIT_FAILURE_MODE: 'fail-closed' },
  );
});

afterAll(async () => {
  await gw.stop();
  await closed.stop();
  await deletePrefix(shared, prefix);
  shared.disconnect();
  await upstream.close();
  await issuer.close();
});

interface Case {
  name: string;
  gateway?: () => TestGateway;
  method?: 'GET' | 'POST';
  path: string;
  token?: () => Promise<string>;
  body?: Buffer;
  /** Requests sent first (e.g. to use up a limit). */
  before?: number;
  status: number;
  code: string;
  route: string;
}

const cases: Case[] = [
  { name: 'no route (404)', path: '/nowhere/x', status: 404, code: 'GATEWAY_ROUTE_NOT_FOUND', route: 'unmatched' },
  { name: 'a method the route does not take (405)', method: 'POST', path: '/ro/x', status: 405, code: 'GATEWAY_METHOD_NOT_ALLOWED', route: 'unmatched' },
  { name: 'no token (401)', path: '/secure/x', status: 401, code: 'TOKEN_MISSING', route: 'proxy:secure' },
  { name: 'a token without the role (403)', path: '/secure/x', token: () => issuer.sign({ sub: 'u1', roles: ['reader'] }), status: 403, code: 'ROLE_MISSING', route: 'proxy:secure' },
  { name: 'a token without a tenant on a tenant route (403)', path: '/mine/x', token: () => issuer.sign({ sub: 'u1', roles: [] }), status: 403, code: 'TENANT_MISSING', route: 'proxy:mine' },
  { name: 'a body over the route limit (413)', method: 'POST', path: '/upload/x', body: Buffer.alloc(64, 1), status: 413, code: 'GATEWAY_BODY_TOO_LARGE', route: 'proxy:upload' },
  { name: 'a spent rate limit (429)', path: '/limited/x', before: 1, status: 429, code: 'RATE_LIMITED', route: 'proxy:limited' },
  { name: 'a limiter failing closed (503)', gateway: () => closed, path: '/limited/x', status: 503, code: 'RATE_LIMIT_UNAVAILABLE', route: 'proxy:limited' },
];

describe('refusals', () => {
  it.each(cases)('when a request is refused for $name, then problem+json with the request id and security headers, one log line and the metric', async (c) => {
    const g = c.gateway?.() ?? gw;
    const headers: Record<string, string> = {};
    if (c.token) headers.authorization = `Bearer ${await c.token()}`;
    for (let i = 0; i < (c.before ?? 0); i++) await (await request(`${g.url}${c.path}`, { headers })).body.dump();
    const seen = upstream.seen.length;
    const reqId = `refusal-${randomUUID()}`;
    const res = await request(`${g.url}${c.path}?token=secret`, { method: c.method ?? 'GET', headers: { ...headers, 'x-request-id': reqId }, ...(c.body ? { body: c.body } : {}) });
    const body = (await res.body.json()) as Record<string, unknown>;
    expect(res.statusCode).toBe(c.status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(body).toMatchObject({ status: c.status, code: c.code, instance: c.path });
    expect(res.headers['x-request-id']).toBe(reqId);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(upstream.seen.length).toBe(seen);
    if (c.status < 500) expect(g.logs.filter((l) => l.msg === 'request refused' && l.reqId === reqId)).toEqual([expect.objectContaining({ code: c.code, status: c.status, path: c.path })]);
    else expect(g.logs.filter((l) => l.msg === 'request failed' && l.reqId === reqId)).toEqual([expect.objectContaining({ code: c.code })]);
    await waitFor(() => g.logs.some((l) => l.msg === 'request completed' && l.reqId === reqId), 'the completion line');
    expect(g.logs.find((l) => l.msg === 'request completed' && l.reqId === reqId)).toMatchObject({ route: c.route, status: c.status });
    expect(await g.gateway.metrics.metrics()).toMatch(new RegExp(`http_server_request_duration_seconds_count\\{[^}]*route="${c.route}"[^}]*status_code="${c.status}"`));
    expect(JSON.stringify(g.logs)).not.toContain('token=secret');
  });

  it('when a WebSocket upgrade is refused, then the same problem with the security headers on the socket and the refusal log line', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/secure/socket`);
    const res = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('unexpected-response', (_req, response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (d: string) => (text += d));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
      });
    });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(JSON.parse(res.body)).toMatchObject({ code: 'TOKEN_MISSING', instance: '/secure/socket' });
    expect(gw.logs.some((l) => l.msg === 'request refused' && l.code === 'TOKEN_MISSING' && l.path === '/secure/socket' && l.upgrade === true)).toBe(true);
  });
});
