import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { isAppError } from '@bulwark/errors';
import { loadRoutesFile, parseUpstreamAddresses, validateRoutesFile } from './routes-file.ts';
import { RouteTable } from './route-table.ts';

const base = {
  upstreams: { orders: { url: 'http://127.0.0.1:8082' } },
  rateLimitPolicies: [{ name: 'per-ip', algorithm: 'token-bucket', limit: 10, windowSeconds: 1 }],
  routes: [{ id: 'orders-v1', version: 'v1', match: { prefix: '/orders' }, upstream: 'orders', rateLimits: [{ policy: 'per-ip', by: 'ip' }] }],
};

function problemsOf(input: unknown): string[] {
  try {
    validateRoutesFile(input);
  } catch (err) {
    if (isAppError(err)) return err.extensions.problems as string[];
    throw err;
  }
  return [];
}

describe('validateRoutesFile', () => {
  it('when the file is valid, then defaults are filled in', () => {
    const file = validateRoutesFile(base);
    expect(file.upstreams.orders!.retry.attempts).toBe(1);
    expect(file.upstreams.orders!.breaker.volumeThreshold).toBe(20);
    expect(file.securityHeaders['x-content-type-options']).toBe('nosniff');
  });

  it('when fields are wrong, then every problem names the route and the field', () => {
    const problems = problemsOf({
      ...base,
      routes: [{ id: 'orders-v1', match: { prefix: 'orders' }, upstream: 'orders', timeoutMs: -1, methods: ['FETCH'] }],
    });
    expect(problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/^route "orders-v1" field match/), expect.stringMatching(/^route "orders-v1" field timeoutMs/), expect.stringMatching(/^route "orders-v1" field methods\.0/)]),
    );
  });

  it('when a route names an unknown upstream or policy, then the cross-check says which', () => {
    const problems = problemsOf({ ...base, routes: [{ id: 'x', match: { prefix: '/x' }, upstream: 'nope', rateLimits: [{ policy: 'missing', by: 'user' }] }] });
    expect(problems).toEqual([expect.stringContaining('route "x" field upstream: no upstream named "nope"'), expect.stringContaining('route "x" field rateLimits.0.policy: no rate-limit policy named "missing"')]);
  });

  it('when a rate-limit policy has a lease, then it is kept as given for the limiter', () => {
    const file = validateRoutesFile({ ...base, rateLimitPolicies: [{ ...base.rateLimitPolicies[0], lease: { units: 3, ttlSeconds: 0.5 } }] });
    expect(file.rateLimitPolicies[0]).toEqual({ name: 'per-ip', algorithm: 'token-bucket', limit: 10, windowSeconds: 1, lease: { units: 3, ttlSeconds: 0.5 } });
    expect(validateRoutesFile(base).rateLimitPolicies[0]!.lease).toBeUndefined();
  });

  it('when a lease is invalid, then every problem names the policy and the field', () => {
    const policy = base.rateLimitPolicies[0];
    expect(problemsOf({ ...base, rateLimitPolicies: [{ ...policy, lease: { units: 0, ttl: 1 } }] })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^rate-limit policy "per-ip" field lease\.units: /), expect.stringMatching(/^rate-limit policy "per-ip" field lease: .*ttl/)]),
    );
    expect(problemsOf({ ...base, rateLimitPolicies: [{ ...policy, lease: { units: 10, ttlSeconds: 2 } }] })).toEqual([
      'rate-limit policy "per-ip" field lease.units: must be below the limit (10), got 10',
      'rate-limit policy "per-ip" field lease.ttlSeconds: must be at most windowSeconds (1), got 2',
    ]);
  });

  it('when a retired route has no successor, then it is refused', () => {
    expect(problemsOf({ ...base, routes: [{ ...base.routes[0], lifecycle: { retired: true } }] })).toEqual([expect.stringContaining('lifecycle.successor')]);
  });

  it('when a prefix takes {tenant} from the token, then the route must require a token, name it once and use no other braces', () => {
    const route = { id: 'hooks', match: { prefix: '/hooks' }, upstream: 'orders', rewrite: { stripPrefix: true, addPrefix: '/v1/tenants/{tenant}' } };
    expect(problemsOf({ ...base, routes: [{ ...route, auth: { required: true } }] })).toEqual([]);
    expect(problemsOf({ ...base, routes: [route] })).toEqual([expect.stringContaining('auth.required')]);
    expect(problemsOf({ ...base, routes: [{ ...route, auth: { required: false } }] })).toEqual([expect.stringContaining('auth.required')]);
    expect(problemsOf({ ...base, routes: [{ ...route, auth: { required: true }, rewrite: { addPrefix: '/t/{tenant}/{tenant}' } }] })).toEqual([expect.stringContaining('{tenant} may appear once')]);
    expect(problemsOf({ ...base, routes: [{ ...route, auth: { required: true }, rewrite: { addPrefix: '/t/{user}' } }] })).toEqual([expect.stringContaining('only the {tenant} placeholder')]);
  });

  it('when the upstream authenticates the client, then the route declares no auth and is no WebSocket', () => {
    const route = { id: 'token', match: { prefix: '/oidc/token' }, upstream: 'orders', upstreamAuthenticates: true };
    expect(problemsOf({ ...base, routes: [route] })).toEqual([]);
    expect(validateRoutesFile({ ...base, routes: [route] }).routes[0]!.upstreamAuthenticates).toBe(true);
    expect(validateRoutesFile(base).routes[0]!.upstreamAuthenticates).toBe(false);
    expect(problemsOf({ ...base, routes: [{ ...route, auth: { required: false } }] })).toEqual([expect.stringContaining('field upstreamAuthenticates: the upstream authenticates the client')]);
    expect(problemsOf({ ...base, routes: [{ ...route, websocket: true }] })).toEqual([expect.stringContaining('field upstreamAuthenticates: not supported on WebSocket')]);
  });

  it('when the shipped routes.json is loaded with the deployment\'s addresses, then it validates and every upstream has one', () => {
    const shipped = new URL('../../routes.json', import.meta.url).pathname;
    // The upstreams `npm run up` gives the gateway (its package.json), so a new service's upstream is checked without editing this list.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { bulwark: { env: { GATEWAY_UPSTREAMS: string } } };
    const names = pkg.bulwark.env.GATEWAY_UPSTREAMS.split(',').map((pair) => pair.split('=')[0]!);
    const file = loadRoutesFile(shipped, Object.fromEntries(names.map((n, i) => [n, `http://127.0.0.1:${9000 + i}`])));
    expect(file.routes.length).toBeGreaterThan(3);
    expect(Object.values(file.upstreams).map((u) => u.url)).toHaveLength(names.length);
  });

  it('when an upstream has no address, or GATEWAY_UPSTREAMS names one the file does not have, then each is named', () => {
    const noUrl = { ...base, upstreams: { orders: {} } };
    expect(() => validateRoutesFile(noUrl)).toThrow(/upstream "orders": no address \(set orders=<url> in GATEWAY_UPSTREAMS\)/);
    expect(validateRoutesFile(noUrl, 'f', { orders: 'http://10.0.0.1' }).upstreams.orders!.url).toBe('http://10.0.0.1');
    expect(() => validateRoutesFile(noUrl, 'f', { orders: 'http://10.0.0.1', ordesr: 'http://x' })).toThrow(/GATEWAY_UPSTREAMS names "ordesr"/);
  });

  it('when GATEWAY_UPSTREAMS is parsed, then name=url pairs come out and a malformed entry is refused', () => {
    expect(parseUpstreamAddresses(' orders=http://orders , psp-sim=https://psp.example:8443/base,')).toEqual({ orders: 'http://orders', 'psp-sim': 'https://psp.example:8443/base' });
    expect(parseUpstreamAddresses('')).toEqual({});
    expect(() => parseUpstreamAddresses('orders')).toThrow(/not name=url/);
    expect(() => parseUpstreamAddresses('orders=ftp://x')).toThrow(/not an http\(s\) URL/);
    expect(() => parseUpstreamAddresses('a=http://x,a=http://y')).toThrow(/named twice/);
  });
});

describe('RouteTable', () => {
  const table = new RouteTable(
    validateRoutesFile({
      defaultVersion: 'v1',
      upstreams: { orders: { url: 'http://127.0.0.1:1' }, catalog: { url: 'http://127.0.0.1:2' } },
      routes: [
        { id: 'orders-v1', version: 'v1', match: { prefix: '/orders' }, upstream: 'orders', rewrite: { stripPrefix: true, addPrefix: '/api' } },
        { id: 'orders-v2', version: 'v2', match: { prefix: '/orders' }, upstream: 'orders' },
        { id: 'item', match: { pattern: '/items/:id' }, upstream: 'catalog', methods: ['GET'] },
      ],
    }),
  );

  it('when the version is in the path, then the route of that version answers with the rewritten path', () => {
    expect(table.resolve('GET', '/v1/orders/42', undefined)).toMatchObject({ kind: 'found', upstreamPath: '/api/42', version: 'v1' });
    expect(table.resolve('GET', '/v2/orders/42', 'v1')).toMatchObject({ kind: 'found', upstreamPath: '/orders/42', version: 'v2' });
  });

  it('when the version comes from Accept-Version or the default, then it selects the route', () => {
    expect(table.resolve('GET', '/orders', 'v2')).toMatchObject({ kind: 'found', version: 'v2' });
    expect(table.resolve('GET', '/orders', undefined)).toMatchObject({ kind: 'found', version: 'v1' });
  });

  it('when a version is unknown, then resolution says so with the known ones', () => {
    expect(table.resolve('GET', '/v7/orders', undefined)).toEqual({ kind: 'unknown-version', version: 'v7', known: ['v1', 'v2'] });
    expect(table.resolve('GET', '/orders', 'v7')).toMatchObject({ kind: 'unknown-version' });
  });

  it('when a prefix only shares characters, or the method is not allowed, then it does not match', () => {
    expect(table.resolve('GET', '/v1/ordersx', undefined)).toEqual({ kind: 'not-found' });
    expect(table.resolve('POST', '/items/1', undefined)).toEqual({ kind: 'method-not-allowed', allow: ['GET'] });
    expect(table.resolve('GET', '/items/1/extra', undefined)).toEqual({ kind: 'not-found' });
  });
});
