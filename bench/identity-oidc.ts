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
import { Registry } from 'prom-client';
import { createPool } from '@bulwark/db';
import { runtimeDbUrl } from '@bulwark/test-support';
import { loadConfig } from '@bulwark/service-kit';
import { ensureInfra } from '../scripts/infra/index.ts';
import { createIdentityApp } from '../apps/identity/src/app.ts';
import { identityConfigSchema } from '../apps/identity/src/config.ts';

const TOKENS = Number(process.env.BENCH_TOKENS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECRET = randomBytes(32).toString('hex');

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
}

const silent = { write: () => true } as never;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function drive(n: number, concurrency: number, op: () => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) {
        const t0 = performance.now();
        await op();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: n / seconds, p50: latencies[Math.floor(n * 0.5)]!, p99: latencies[Math.floor(n * 0.99)]! };
}

export default async function run(): Promise<void> {
  const infra = process.env.BULWARK_PG_URL && process.env.BULWARK_REDIS_URL ? { BULWARK_PG_URL: process.env.BULWARK_PG_URL, BULWARK_REDIS_URL: process.env.BULWARK_REDIS_URL } : await ensureInfra(['postgres', 'redis']);
  const schema = `bench_identity_oidc_${process.pid}`;
  const config = loadConfig(identityConfigSchema, {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    DATABASE_URL: await runtimeDbUrl(infra.BULWARK_PG_URL!),
    MIGRATION_DATABASE_URL: infra.BULWARK_PG_URL,
    REDIS_URL: infra.BULWARK_REDIS_URL,
    IDENTITY_SCHEMA: schema,
    RATE_LIMIT_PREFIX: `rl:bench-identity-oidc-${process.pid}`,
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    TENANTS: 'bench:Bench',
    OIDC_SERVICE_CLIENTS: `orders=${SECRET}`,
    DB_POOL_MAX: '16',
  });
  const app = createIdentityApp({ config, logDestination: silent, mailer: { send: async () => undefined } });
  const url = (await app.start()).url;
  const authorization = `Basic ${Buffer.from(`orders:${SECRET}`).toString('base64')}`;
  const results: Record<'client-credentials' | 'raw-sign', Figures[]> = { 'client-credentials': [], 'raw-sign': [] };
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
        const figures = await drive(TOKENS, CONCURRENCY, variant === 'client-credentials' ? issue : rawSign);
        if (r >= 0) results[variant].push(figures);
      }
    }
  } finally {
    await app.service.stop();
    const admin = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'bench-identity-oidc-cleanup', max: 1, registry: new Registry(), log: { debug() {}, info() {}, warn() {}, error() {} } });
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.close();
  }
  console.log(`identity-oidc: client-credentials tokens (ES256 JWT), ${TOKENS} per round, concurrency ${CONCURRENCY}, ${ROUNDS} rounds (medians)`);
  for (const v of ['client-credentials', 'raw-sign'] as const) {
    const f = results[v];
    console.log(`  ${v.padEnd(18)} ${median(f.map((x) => x.perSecond)).toFixed(1).padStart(8)} /s   p50 ${median(f.map((x) => x.p50)).toFixed(2)} ms   p99 ${median(f.map((x) => x.p99)).toFixed(2)} ms   rounds: ${f.map((x) => x.perSecond.toFixed(1)).join(' ')}`);
  }
  const ratio = median(results['client-credentials'].map((x, i) => x.perSecond / results['raw-sign'][i]!.perSecond));
  console.log(`  client-credentials / raw-sign ${ratio.toFixed(3)}× (throughput, per-round median): what the provider adds around one ES256 signature`);
}
