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
import { randomUUID } from 'node:crypto';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { measureClosedLoop, summarize, type Summary } from './lib/closed-loop.ts';
import { startBenchIdentity } from './lib/identity.ts';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 400);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 32);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 20);
const PASSWORD = 'violet-harbour-lamp-42';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function run(): Promise<void> {
  const { app, url, config, stop } = await startBenchIdentity('identity', {
    LOGIN_REQUIRES_VERIFIED_EMAIL: 'false',
    // The limits are not what is measured: high enough never to refuse.
    LOGIN_LIMIT_PER_IP: '1000000',
    LOGIN_LIMIT_PER_IP_ACCOUNT: '1000000',
    LOGIN_LIMIT_PER_ACCOUNT: '1000000',
  });
  const argon = { algorithm: 2 as Algorithm, memoryCost: config.ARGON2_MEMORY_KIB, timeCost: config.ARGON2_TIME_COST, parallelism: config.ARGON2_PARALLELISM };
  const emails = Array.from({ length: ACCOUNTS }, (_, i) => `bench-${i}-${randomUUID().slice(0, 6)}@example.test`);
  const results: Record<'login' | 'raw-verify', Summary[]> = { login: [], 'raw-verify': [] };
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
        const figures = summarize([await measureClosedLoop(variant === 'login' ? login : rawVerify, { ops: LOGINS, concurrency: CONCURRENCY })]);
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
    await stop();
  }
  console.log(`identity-login: argon2id m=${argon.memoryCost} KiB t=${argon.timeCost} p=${argon.parallelism}; ${LOGINS} per round, concurrency ${CONCURRENCY}, ${ROUNDS} rounds (medians)`);
  console.log(`  ms per hash (one at a time): hash ${median(single.hash).toFixed(1)} ms, verify ${median(single.verify).toFixed(1)} ms`);
  for (const v of ['login', 'raw-verify'] as const) {
    const f = results[v];
    console.log(`  ${v.padEnd(11)} ${median(f.map((x) => x.opsPerSec)).toFixed(1).padStart(7)} /s   p50 ${median(f.map((x) => x.p50)).toFixed(1)} ms   p99 ${median(f.map((x) => x.p99)).toFixed(1)} ms   rounds: ${f.map((x) => x.opsPerSec.toFixed(1)).join(' ')}`);
  }
  const ratio = median(results.login.map((x, i) => x.opsPerSec / results['raw-verify'][i]!.opsPerSec));
  console.log(`  login / raw-verify ${ratio.toFixed(3)}× (throughput, per-round median): what the service adds around one argon2id verify`);
}
