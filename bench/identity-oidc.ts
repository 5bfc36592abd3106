/**
 * Client-credentials token issuance of identity's OIDC provider against the
 * raw cost of the token it signs, same run.
 *
 * - `client-credentials`: POST /oidc/token (grant_type=client_credentials,
 *   HTTP Basic client authentication) through the whole service in this
 *   process (kit raw handler, oidc-provider, client secret check, resource
 *   indicator, ES256 JWT signed with the key ring's current key),
 *   BENCH_TOKENS (1000) per round at BENCH_CONCURRENCY (8).
 * - `raw-sign`: jose SignJWT of a token with the same claims and key, same
 *   count and concurrency (the baseline: what issuance cannot be cheaper than).
 * Rounds alternate (BENCH_ROUNDS, 3, after a warm-up); medians reported with
 * the per-round throughput ratio.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { measureClosedLoop, summarize, type Summary } from './lib/closed-loop.ts';
import { startBenchIdentity } from './lib/identity.ts';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECRET = randomBytes(32).toString('hex');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function run(): Promise<void> {
  const { app, url, config, stop } = await startBenchIdentity('identity-oidc', { OIDC_SERVICE_CLIENTS: `orders=${SECRET}` });
  const authorization = `Basic ${Buffer.from(`orders:${SECRET}`).toString('base64')}`;
  const results: Record<'client-credentials' | 'raw-sign', Summary[]> = { 'client-credentials': [], 'raw-sign': [] };
  try {
    const issue = async (): Promise<void> => {
      const res = await fetch(`${url}/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization }, body: 'grant_type=client_credentials&scope=api' });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`token endpoint: ${res.status}`);
    };
    const signing = await app.ring.signingKey();
    const rawSign = async (): Promise<void> => {
      const now = Math.floor(Date.now() / 1000);
      await new SignJWT({ client_id: 'orders', scope: 'api', roles: ['service'] })
        .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'at+jwt' })
        .setSubject('orders').setIssuer(config.JWT_ISSUER).setAudience(config.JWT_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 600).setJti(randomUUID())
        .sign(signing.key);
    };
    for (let r = -1; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? (['client-credentials', 'raw-sign'] as const) : (['raw-sign', 'client-credentials'] as const);
      for (const variant of order) {
        const figures = summarize([await measureClosedLoop(variant === 'client-credentials' ? issue : rawSign, { ops: TOKENS, concurrency: CONCURRENCY })]);
        if (r >= 0) results[variant].push(figures);
      }
    }
  } finally {
    await stop();
  }
  console.log(`identity-oidc: client-credentials tokens (ES256 JWT), ${TOKENS} per round, concurrency ${CONCURRENCY}, ${ROUNDS} rounds (medians)`);
  for (const v of ['client-credentials', 'raw-sign'] as const) {
    const f = results[v];
    console.log(`  ${v.padEnd(18)} ${median(f.map((x) => x.opsPerSec)).toFixed(1).padStart(8)} /s   p50 ${median(f.map((x) => x.p50)).toFixed(2)} ms   p99 ${median(f.map((x) => x.p99)).toFixed(2)} ms   rounds: ${f.map((x) => x.opsPerSec.toFixed(1)).join(' ')}`);
  }
  const ratio = median(results['client-credentials'].map((x, i) => x.opsPerSec / results['raw-sign'][i]!.opsPerSec));
  console.log(`  client-credentials / raw-sign ${ratio.toFixed(3)}× (throughput, per-round median): what the provider adds around one ES256 signature`);
}
