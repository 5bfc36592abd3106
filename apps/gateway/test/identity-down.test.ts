/**
 * Identity down (chaos/identity-pod-failure.yaml, locally): the gateway keeps
 * verifying access tokens signed by keys it has already fetched, so signed-in
 * users keep working for their tokens' lifetime; a token signed by a key it has
 * never seen cannot be verified and is a 503 AUTH_UNAVAILABLE with Retry-After
 * (not a 401 that would make clients drop a good token), and nothing reaches the
 * upstream. (A key published later verifies without a restart: auth.test.ts.)
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
    { upstreams: { orders: { url: upstream.url } }, routes: [{ id: 'orders', match: { prefix: '/orders' }, upstream: 'orders', auth: { required: true, roles: ['orders'] } }] },
    { JWKS_URL: issuer.jwksUrl, JWKS_COOLDOWN_MS: '0', JWT_CACHE_TTL_MS: '0' },
  );
});

afterAll(async () => {
  await gw.stop();
  await upstream.close();
  await issuer.close().catch(() => undefined);
});

async function get(path: string, token: string) {
  const res = await request(`${gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('identity unreachable', () => {
  it('when identity (its JWKS) goes down, then tokens of known keys still verify and a token of an unknown key is 503 AUTH_UNAVAILABLE', async () => {
    expect((await get('/orders/1', await issuer.sign({ sub: 'u1', roles: ['orders'] }))).status).toBe(200); // the key set is fetched
    await issuer.close(); // identity down: the JWKS endpoint refuses connections

    // A new token of the same key (another user, another request): verified from the keys already held.
    const known = await get('/orders/2', await issuer.sign({ sub: 'u2', roles: ['orders'] }));
    expect(known.status).toBe(200);
    expect((known.body.headers as Record<string, string>)['x-auth-sub']).toBe('u2');

    // A key the gateway has never seen (identity rotated just before it went down): cannot be verified now.
    await issuer.rotate();
    const before = upstream.seen.length;
    const unknown = await get('/orders/3', await issuer.sign({ sub: 'u3', roles: ['orders'] }));
    expect(unknown.status).toBe(503);
    expect(unknown.body.code).toBe('AUTH_UNAVAILABLE');
    expect(unknown.headers['retry-after']).toBeDefined();
    expect(upstream.seen.length).toBe(before);
  });
});
