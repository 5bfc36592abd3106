/**
 * service-auth against a real HTTP token endpoint and JWKS (a stand-in for
 * identity's /oidc/token and /.well-known/jwks.json that signs real ES256
 * JWTs): the client-credentials provider caches, shares one request, refreshes
 * before expiry on its (controlled) clock, keeps a valid token when a refresh
 * fails, and never puts the secret in an error; the verifier accepts a service
 * token and refuses a missing, forged, expired, wrong-audience or user token
 * with the registered problem codes. identity's own tests run the same module
 * against the real provider.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { isAppError, toProblem } from '@bulwark/errors';
import { createClientCredentialsProvider, createTokenVerifier, TokenRequestError, verifyServiceToken } from '@bulwark/service-kit/service-auth';

const ISSUER = 'http://identity.test';
const AUDIENCE = 'bulwark';
const SECRET = 'notifications-secret-0123456789abcdef0123';

let server: Server;
let base: string;
let signingKey: CryptoKey;
let publicJwk: JWK;
let expiresIn = 600;
let failNext = 0;
const requests: { auth: string | undefined; form: URLSearchParams }[] = [];

async function sign(claims: Record<string, unknown>, options: { key?: CryptoKey; ttl?: number; iat?: number; aud?: string } = {}): Promise<string> {
  const iat = options.iat ?? Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.ttl ?? 600))
    .sign(options.key ?? signingKey);
}

function clientOf(auth: string | undefined, form: URLSearchParams): { id: string; secret: string } | undefined {
  if (auth?.startsWith('Basic ')) {
    const [id, secret] = Buffer.from(auth.slice(6), 'base64').toString().split(':').map(decodeURIComponent);
    return { id: id!, secret: secret! };
  }
  const id = form.get('client_id');
  return id ? { id, secret: form.get('client_secret') ?? '' } : undefined;
}

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      if (req.url === '/.well-known/jwks.json') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
      const form = new URLSearchParams(raw);
      requests.push({ auth: req.headers.authorization, form });
      if (failNext > 0) {
        failNext--;
        return void res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'temporarily_unavailable' }));
      }
      const client = clientOf(req.headers.authorization, form);
      if (form.get('grant_type') !== 'client_credentials' || client?.secret !== SECRET) {
        return void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client', error_description: 'client authentication failed' }));
      }
      void sign({ sub: client.id, client_id: client.id, roles: ['service'], scope: 'api' }, { ttl: expiresIn }).then((token) => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: 'api' }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const clock = () => {
  let t = Date.now();
  return { now: () => t, advance: (ms: number) => void (t += ms) };
};

describe('client-credentials token provider', () => {
  it('when many callers ask at once and again later, then one request serves them until shortly before expiry, and a refused token is fetched anew', async () => {
    expiresIn = 600;
    const c = clock();
    const provider = createClientCredentialsProvider({ tokenUrl: `${base}/oidc/token`, clientId: 'notifications', clientSecret: SECRET, refreshBeforeMs: 60_000, now: c.now });
    const first = await Promise.all(Array.from({ length: 8 }, () => provider.token()));
    expect(new Set(first).size).toBe(1);
    expect(provider.fetches).toBe(1);
    expect(requests.at(-1)!.auth).toMatch(/^Basic /);
    expect(requests.at(-1)!.form.has('client_secret')).toBe(false);

    c.advance(539_000); // 61 s before expiry: still served from the cache
    expect(await provider.token()).toBe(first[0]);
    expect(provider.fetches).toBe(1);
    c.advance(2_000); // 59 s before expiry: due for refresh
    await provider.token();
    expect(provider.fetches).toBe(2);

    const current = await provider.token();
    provider.invalidate(current);
    expect(await provider.authorization()).toMatch(/^Bearer /);
    expect(provider.fetches).toBe(3);
  });

  it('when a refresh fails while the cached token is still valid, then the cached token is served and the next call tries again', async () => {
    expiresIn = 600;
    const c = clock();
    const provider = createClientCredentialsProvider({ tokenUrl: `${base}/oidc/token`, clientId: 'notifications', clientSecret: SECRET, authMethod: 'client_secret_post', now: c.now });
    const token = await provider.token();
    expect(requests.at(-1)!.form.get('client_id')).toBe('notifications');
    expect(requests.at(-1)!.auth).toBeUndefined();
    c.advance(560_000);
    failNext = 1;
    expect(await provider.token()).toBe(token);
    expect(provider.fetches).toBe(2);
    expect(await provider.token()).not.toBe(token);
    expect(provider.fetches).toBe(3);
    c.advance(600_001); // past the new token's expiry with the endpoint failing: an error, not a stale token
    failNext = 1;
    await expect(provider.token()).rejects.toMatchObject({ name: 'TokenRequestError', status: 503, oauthError: 'temporarily_unavailable' });
  });

  it('when the secret is wrong or the endpoint is unreachable, then the error names the client, the endpoint and the OAuth error, never the secret', async () => {
    const wrongSecret = 'wrong-secret-0123456789abcdef0123456789';
    const wrong = createClientCredentialsProvider({ tokenUrl: `${base}/oidc/token`, clientId: 'notifications', clientSecret: wrongSecret });
    const err = await wrong.token().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenRequestError);
    expect(err).toMatchObject({ status: 401, oauthError: 'invalid_client' });
    expect((err as Error).message).toContain('notifications');
    expect((err as Error).message).toContain(`${base}/oidc/token`);
    expect(JSON.stringify(err) + String(err) + (err as Error).stack).not.toContain(wrongSecret);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const away = createClientCredentialsProvider({ tokenUrl: `http://127.0.0.1:${port}/oidc/token`, clientId: 'notifications', clientSecret: SECRET });
    const down = await away.token().catch((e: unknown) => e);
    expect(down).toBeInstanceOf(TokenRequestError);
    expect((down as TokenRequestError).status).toBeUndefined();
    expect(String(down)).not.toContain(SECRET);
  });
});

describe('token verifier', () => {
  const problemOf = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isAppError(err)) throw new Error(`expected an AppError, got ${String(err)}`);
    return { ...toProblem(err).body, headers: err.headers };
  };

  it('when a service presents its client-credentials token, then the principal is the client with the service role', async () => {
    expiresIn = 600;
    const verifier = createTokenVerifier({ jwksUrl: `${base}/.well-known/jwks.json`, issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt' });
    const provider = createClientCredentialsProvider({ tokenUrl: `${base}/oidc/token`, clientId: 'notifications', clientSecret: SECRET });
    const principal = await verifyServiceToken(verifier, await provider.authorization());
    expect(principal).toEqual({ sub: 'notifications', clientId: 'notifications', tenant: undefined, roles: ['service'] });
  });

  it('when the token is missing, forged, expired, for another audience or a user\'s, then 401 TOKEN_MISSING / TOKEN_INVALID or 403 ROLE_MISSING', async () => {
    const verifier = createTokenVerifier({ jwksUrl: `${base}/.well-known/jwks.json`, issuer: ISSUER, audience: AUDIENCE });
    expect(await problemOf(verifyServiceToken(verifier, undefined))).toMatchObject({ status: 401, code: 'TOKEN_MISSING', headers: { 'www-authenticate': 'Bearer' } });
    expect(await problemOf(verifyServiceToken(verifier, 'Basic abc'))).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });

    const other = await generateKeyPair('ES256');
    const forged = await sign({ sub: 'notifications', client_id: 'notifications', roles: ['service'] }, { key: other.privateKey });
    expect(await problemOf(verifyServiceToken(verifier, `Bearer ${forged}`))).toMatchObject({ status: 401, code: 'TOKEN_INVALID', detail: 'signature verification failed' });

    const expired = await new SignJWT({ client_id: 'notifications', roles: ['service'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('notifications')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 700)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(signingKey);
    expect(await problemOf(verifyServiceToken(verifier, `Bearer ${expired}`))).toMatchObject({ status: 401, code: 'TOKEN_INVALID', detail: 'token expired' });

    const elsewhere = await new SignJWT({ client_id: 'notifications', roles: ['service'] }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('notifications').setIssuer(ISSUER).setAudience('another-api').setIssuedAt().setExpirationTime('5m').sign(signingKey);
    expect(await problemOf(verifyServiceToken(verifier, `Bearer ${elsewhere}`))).toMatchObject({ status: 401, code: 'TOKEN_INVALID', detail: 'claim check failed: aud' });

    const user = await new SignJWT({ tenant: 't-1', roles: ['customer', 'service'] }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('account-1').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(signingKey);
    expect((await verifier.verify(`Bearer ${user}`)).clientId).toBeUndefined();
    expect(await problemOf(verifyServiceToken(verifier, `Bearer ${user}`))).toMatchObject({ status: 403, code: 'ROLE_MISSING' });
    const customer = await new SignJWT({ tenant: 't-1', roles: ['customer'] }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('account-1').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(signingKey);
    expect(await problemOf(verifyServiceToken(verifier, `Bearer ${customer}`))).toMatchObject({ status: 403, code: 'ROLE_MISSING', requiredRoles: ['service'] });

    const hs = await new SignJWT({ client_id: 'notifications', roles: ['service'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('notifications').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    expect(await problemOf(verifyServiceToken(verifier, `Bearer ${hs}`))).toMatchObject({ status: 401, code: 'TOKEN_INVALID', detail: 'token algorithm not allowed' });
  });

  it('when the key set cannot be fetched, then 503 AUTH_UNAVAILABLE', async () => {
    const verifier = createTokenVerifier({ jwksUrl: `${base}/nowhere.json`, issuer: ISSUER, audience: AUDIENCE });
    const token = await sign({ sub: 'notifications', client_id: 'notifications', roles: ['service'] });
    expect(await problemOf(verifier.verify(`Bearer ${token}`))).toMatchObject({ status: 503, code: 'AUTH_UNAVAILABLE' });
  });

  it('when the verifier has a cache, then a verified token is recalled without a promise, never past its exp, and a refused one never is', async () => {
    let now = Date.now();
    const verifier = createTokenVerifier({ jwksUrl: `${base}/.well-known/jwks.json`, issuer: ISSUER, audience: AUDIENCE, cache: { ttlMs: 60_000, maxEntries: 10 }, clockToleranceS: 0, now: () => now });
    const token = `Bearer ${await sign({ sub: 'notifications', client_id: 'notifications', roles: ['service'] }, { ttl: 30 })}`;
    const connection = {};
    expect(verifier.recall(token, connection)).toBeUndefined();
    const verified = await verifier.verify(token);
    expect(verifier.recall(token, connection)).toBe(verified);
    expect(await verifier.verify(token)).toBe(verified);
    now += 30_000; // the token's exp
    expect(verifier.recall(token, connection)).toBeUndefined();
    const other = await generateKeyPair('ES256');
    const forged = `Bearer ${await sign({ sub: 'notifications' }, { key: other.privateKey })}`;
    await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    expect(verifier.recall(forged)).toBeUndefined();
    const uncached = createTokenVerifier({ jwksUrl: `${base}/.well-known/jwks.json`, issuer: ISSUER, audience: AUDIENCE });
    await uncached.verify(token);
    expect(uncached.recall(token)).toBeUndefined();
  });
});
