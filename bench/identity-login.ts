/**
 * Login throughput of apps/identity at the configured argon2id cost, against
 * the raw cost of that hash in the same run. The issue asks for "login
 * throughput at the chosen argon2id cost, stated in ms per hash".
 *
 * - `login`: POST /v1/sessions through the whole service in this process
 *   (kit, zod, Redis rate-limit check, lockout lookup, argon2id verify via
 *   @node-rs/argon2, session + refresh token insert, ES256 signing), on a
 *   throwaway PostgreSQL schema, BENCH_LOGINS (400) logins per round over
 *   BENCH_ACCOUNTS (32) accounts at BENCH_CONCURRENCY (8).
 * - `raw-verify`: @node-rs/argon2 `verify` of the same hashes with the same
 *   parameters and concurrency, nothing else (the baseline: what login
 *   cannot be cheaper than).
 * - `ms per hash`: one `hash` and one `verify` at a time (BENCH_SINGLE, 20 each),
 *   the latency one login pays for argon2id on an idle thread.
 * Rounds alternate the variants (BENCH_ROUNDS, 3, after a warm-up round);
 * medians are reported with the login/raw throughput ratio per round.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { Registry } from 'prom-client';
import { createPool } from '@bulwark/db';
import { runtimeDbUrl } from '@bulwark/test-support';
import { loadConfig } from '@bulwark/service-kit';
import { ensureInfra } from '../scripts/infra/index.ts';
import { createIdentityApp } from '../apps/identity/src/app.ts';
import { identityConfigSchema } from '../apps/identity/src/config.ts';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 400);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 32);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 20);
const PASSWORD = 'violet-harbour-lamp-42';

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
}

const silent = { write: () => true } as never;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function drive(n: number, concurrency: number, op: (i: number) => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await op(i);
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
  const schema = `bench_identity_${process.pid}`;
  const config = loadConfig(identityConfigSchema, {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    DATABASE_URL: await runtimeDbUrl(infra.BULWARK_PG_URL!),
    MIGRATION_DATABASE_URL: infra.BULWARK_PG_URL,
    REDIS_URL: infra.BULWARK_REDIS_URL,
    IDENTITY_SCHEMA: schema,
    RATE_LIMIT_PREFIX: `rl:bench-identity-${process.pid}`,
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    TENANTS: 'bench:Bench',
    LOGIN_REQUIRES_VERIFIED_EMAIL: 'false',
    // The limits are not what is measured: high enough never to refuse.
    LOGIN_LIMIT_PER_IP: '1000000',
    LOGIN_LIMIT_PER_IP_ACCOUNT: '1000000',
    LOGIN_LIMIT_PER_ACCOUNT: '1000000',
    DB_POOL_MAX: '16',
  });
  const app = createIdentityApp({ config, logDestination: silent, mailer: { send: async () => undefined } });
  const url = (await app.start()).url;
  const argon = { algorithm: 2 as Algorithm, memoryCost: config.ARGON2_MEMORY_KIB, timeCost: config.ARGON2_TIME_COST, parallelism: config.ARGON2_PARALLELISM };
  const emails = Array.from({ length: ACCOUNTS }, (_, i) => `bench-${i}-${randomUUID().slice(0, 6)}@example.test`);
  const results: Record<'login' | 'raw-verify', Figures[]> = { login: [], 'raw-verify': [] };
  const single = { hash: [] as number[], verify: [] as number[] };
  try {
    for (const email of emails) {
      const res = await fetch(`${url}/v1/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'bench', email, password: PASSWORD }) });
      if (res.status !== 202) throw new Error(`registration: ${res.status}`);
    }
    const hashes = (await app.pool.query<{ password_hash: string }>('SELECT password_hash FROM users')).rows.map((r) => r.password_hash);
    const login = async (i: number): Promise<void> => {
      const res = await fetch(`${url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'bench', email: emails[i % ACCOUNTS], password: PASSWORD }) });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`login ${i}: ${res.status}`);
    };
    const rawVerify = async (i: number): Promise<void> => {
      if (!(await verify(hashes[i % hashes.length]!, PASSWORD))) throw new Error('raw verify failed');
    };
    for (let r = -1; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? (['login', 'raw-verify'] as const) : (['raw-verify', 'login'] as const);
      for (const variant of order) {
        const figures = await drive(LOGINS, CONCURRENCY, variant === 'login' ? login : rawVerify);
        if (r >= 0) results[variant].push(figures);
      }
    }
    for (let i = 0; i < SINGLE; i++) {
      let t0 = performance.now();
      const h = await hash(PASSWORD, argon);
      single.hash.push(performance.now() - t0);
      t0 = performance.now();
      await verify(h, PASSWORD);
      single.verify.push(performance.now() - t0);
    }
  } finally {
    await app.service.stop();
    const admin = createPool({ connectionString: config.MIGRATION_DATABASE_URL, name: 'bench-identity-cleanup', max: 1, registry: new Registry(), log: { debug() {}, info() {}, warn() {}, error() {} } });
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.close();
  }
  console.log(`identity-login: argon2id m=${argon.memoryCost} KiB t=${argon.timeCost} p=${argon.parallelism}; ${LOGINS} per round, concurrency ${CONCURRENCY}, ${ROUNDS} rounds (medians)`);
  console.log(`  ms per hash (one at a time): hash ${median(single.hash).toFixed(1)} ms, verify ${median(single.verify).toFixed(1)} ms`);
  for (const v of ['login', 'raw-verify'] as const) {
    const f = results[v];
    console.log(`  ${v.padEnd(11)} ${median(f.map((x) => x.perSecond)).toFixed(1).padStart(7)} /s   p50 ${median(f.map((x) => x.p50)).toFixed(1)} ms   p99 ${median(f.map((x) => x.p99)).toFixed(1)} ms   rounds: ${f.map((x) => x.perSecond.toFixed(1)).join(' ')}`);
  }
  const ratio = median(results.login.map((x, i) => x.perSecond / results['raw-verify'][i]!.perSecond));
  console.log(`  login / raw-verify ${ratio.toFixed(3)}× (throughput, per-round median): what the service adds around one argon2id verify`);
}
