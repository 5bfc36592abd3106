/**
 * Token verification at the gateway against raw `jose.jwtVerify` (issue 25's
 * target: ≥ 0.9× raw). Both verify the same BENCH_TOKENS (2,000) distinct
 * ES256 access tokens shaped like identity's (sub, tenant, roles, scope, sid,
 * iss, aud, exp; `kid` in the header) against the same JWKS served over HTTP
 * by a local server and fetched once by `createRemoteJWKSet` (warm before the
 * rounds), with the same algorithms, issuer and audience:
 *   - raw: `jwtVerify(token, jwks, options)`;
 *   - gateway: `createAuthenticator` (apps/gateway/src/domain/authenticate.ts,
 *     the service kit's `createTokenVerifier` since issue 25) with its
 *     verified-token cache off, so every call verifies: the bearer parse,
 *     jose, the claim checks and the frozen principal;
 *   - gateway, cached (context, no target): each token sent 10 times, as a
 *     client sends one token for its lifetime.
 * BENCH_ROUNDS (9) rounds alternate the order; the median of per-round ratios
 * is the figure. One caller at a time: verification is CPU-bound.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { createAuthenticator } from '../apps/gateway/src/domain/authenticate.ts';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const ISSUER = 'http://identity.bench';
const AUDIENCE = 'bulwark';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function main(): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-key', alg: 'ES256', use: 'sig' };
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  try {
    const tokens: string[] = [];
    for (let i = 0; i < TOKENS; i++) {
      tokens.push(
        await new SignJWT({ tenant: 'ba3443be-8687-430d-b462-a1d6c3ac35bd', roles: ['customer', 'orders', 'payments'], scope: 'openid profile', sid: crypto.randomUUID() })
          .setProtectedHeader({ alg: 'ES256', kid: 'bench-key', typ: 'at+jwt' })
          .setSubject(crypto.randomUUID())
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setIssuedAt()
          .setExpirationTime('10m')
          .setJti(crypto.randomUUID())
          .sign(privateKey),
      );
    }
    const headers = tokens.map((t) => `Bearer ${t}`);
    const jwks = createRemoteJWKSet(new URL(jwksUrl));
    const options = { algorithms: ['ES256'], issuer: ISSUER, audience: AUDIENCE, clockTolerance: 5 };
    const gatewayOptions = { jwksUrl, algorithms: ['RS256', 'ES256', 'EdDSA'], issuer: ISSUER, audience: AUDIENCE, clockToleranceS: 5, cooldownMs: 30_000, cacheMaxAgeMs: 600_000, tenantClaim: 'tenant', rolesClaim: 'roles' };
    const uncached = createAuthenticator({ ...gatewayOptions, cacheTtlMs: 0 });
    const cached = createAuthenticator({ ...gatewayOptions, cacheTtlMs: 30_000, cacheMaxEntries: TOKENS * 2 });

    const variants = {
      raw: async () => {
        for (const t of tokens) await jwtVerify(t, jwks, options);
        return tokens.length;
      },
      gateway: async () => {
        for (const h of headers) await uncached(h);
        return headers.length;
      },
      'gateway, cached': async () => {
        for (let r = 0; r < 10; r++) for (const h of headers) await cached(h);
        return headers.length * 10;
      },
    } as const;
    // Warm-up: keys fetched, code optimised.
    for (const run of Object.values(variants)) await run();

    const perSecond: Record<string, number[]> = { raw: [], gateway: [], 'gateway, cached': [] };
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['raw', 'gateway', 'gateway, cached'] as const) : (['gateway, cached', 'gateway', 'raw'] as const);
      const got: Record<string, number> = {};
      for (const name of order) {
        const started = performance.now();
        const n = await variants[name]();
        got[name] = n / ((performance.now() - started) / 1000);
        perSecond[name]!.push(got[name]!);
      }
      ratios.push(got.gateway! / got.raw!);
    }
    console.log(`token verification, ${TOKENS} distinct ES256 tokens, ${ROUNDS} rounds (median)`);
    for (const [name, xs] of Object.entries(perSecond)) console.log(`  ${name.padEnd(16)} ${Math.round(median(xs)).toLocaleString('en-US').padStart(10)} verifications/s  (${(1e6 / median(xs)).toFixed(1)} µs each)`);
    const ratio = median(ratios);
    console.log(`gateway / raw jose.jwtVerify = ${ratio.toFixed(3)} (median of per-round ratios; target ≥ 0.9) ${ratio >= 0.9 ? 'MET' : 'NOT MET'}`);
  } finally {
    server.close();
  }
}
