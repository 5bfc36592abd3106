/**
 * Payment authorization through apps/payments (Idempotency-Key middleware,
 * key-unique locked row, opossum breaker, PSP call with the same key, intent
 * snapshot + outbox row, stored response) against calling the PSP simulator
 * directly with a fresh key (the baseline: the PSP's own cost), plus the
 * replay path (the same keys again, answered from idempotency_keys). Both
 * services run in this process on port 0; PostgreSQL from scripts/infra in a
 * throwaway schema; webhooks off so only the request path is measured.
 * BENCH_PAYMENTS (1000) requests per round at BENCH_CONCURRENCY (16), BENCH_ROUNDS (3), variants
 * alternating; figures: requests/s and p50/p99 latency, ratio per round.
 */
import { randomUUID } from 'node:crypto';
import { createPool } from '@bulwark/db';
import { runtimeDbUrl, silent } from '@bulwark/test-support';
import { Registry } from 'prom-client';
import { ensureInfra } from '../scripts/infra/index.ts';
import { createPaymentsApp, createPspApp, loadPaymentsConfig, loadPspConfig } from '../apps/payments/src/index.ts';
import { measureClosedLoop, summarize, type Summary } from './lib/closed-loop.ts';
import { startBenchIdentity } from './lib/identity.ts';

const N = Number(process.env.BENCH_PAYMENTS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

type Variant = 'payments' | 'payments-replay' | 'psp-direct';
const devNull = { write: () => true } as never;

/** One round: N requests from CONCURRENCY clients, each answer read whole and required to be a success. */
async function drive(send: (i: number) => Promise<Response>): Promise<Summary> {
  const round = await measureClosedLoop(
    async (i) => {
      const res = await send(i);
      await res.arrayBuffer();
      if (res.status >= 300) throw new Error(`request ${i}: ${res.status}`);
    },
    { ops: N, concurrency: CONCURRENCY },
  );
  return summarize([round]);
}

export default async function run(): Promise<void> {
  const pgUrl = (await ensureInfra(['postgres'])).BULWARK_PG_URL!;
  const schema = `bench_payments_${process.pid}`;
  const psp = createPspApp({ config: loadPspConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error' }), logDestination: devNull });
  const pspUrl = (await psp.service.start()).url;
  // The issuer payments verifies its internal routes' service tokens against (the bench calls only /v1/payments).
  const identity = await startBenchIdentity('payments-issuer', {});
  const verifier = { JWKS_URL: `${identity.url}/.well-known/jwks.json`, JWT_ISSUER: identity.config.JWT_ISSUER, JWT_AUDIENCE: identity.config.JWT_AUDIENCE };
  const payments = createPaymentsApp({
    config: loadPaymentsConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error', DATABASE_URL: await runtimeDbUrl(pgUrl), MIGRATION_DATABASE_URL: pgUrl, PAYMENTS_SCHEMA: schema, PSP_URL: pspUrl, EVENTS_ENABLED: 'false', DB_POOL_MAX: '32', ...verifier }),
    logDestination: devNull,
  });
  const url = (await payments.start()).url;
  const json = { 'content-type': 'application/json' };
  // As the gateway forwards a call: one tenant for the whole bench.
  const post = (base: string, path: string, key: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { ...json, 'idempotency-key': key, 'x-auth-tenant': 'bench' }, body: JSON.stringify(body) });
  const results: Record<Variant, Summary[]> = { payments: [], 'payments-replay': [], 'psp-direct': [] };
  try {
    for (let r = -1; r < ROUNDS; r++) {
      const tag = randomUUID().slice(0, 8);
      const keys = Array.from({ length: N }, (_, i) => `${tag}:${i}`);
      const body = (i: number) => ({ orderId: `o-${tag}-${i}`, amount: 1000 + i, currency: 'EUR' });
      const fresh = await drive((i) => post(url, '/v1/payments', keys[i]!, body(i)));
      const replay = await drive((i) => post(url, '/v1/payments', keys[i]!, body(i)));
      const direct = await drive((i) => post(pspUrl, '/v1/payment_intents', `direct:${keys[i]}`, { amount: 1000 + i, currency: 'EUR' }));
      if (r < 0) continue; // warm-up
      results.payments.push(fresh);
      results['payments-replay'].push(replay);
      results['psp-direct'].push(direct);
    }
  } finally {
    await payments.service.stop();
    await psp.service.stop();
    await identity.stop();
    const admin = createPool({ connectionString: pgUrl, name: 'bench-payments-cleanup', max: 1, registry: new Registry(), log: silent });
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.close();
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`payments: ${N} authorizations per round, concurrency ${CONCURRENCY}, ${ROUNDS} rounds (medians; shared 2-core box)`);
  for (const v of Object.keys(results) as Variant[]) {
    const f = results[v];
    console.log(`  ${v.padEnd(16)} ${median(f.map((x) => x.opsPerSec)).toFixed(0).padStart(6)} req/s   p50 ${median(f.map((x) => x.p50)).toFixed(1)} ms   p99 ${median(f.map((x) => x.p99)).toFixed(1)} ms   rounds: ${f.map((x) => x.opsPerSec.toFixed(0)).join(' ')}`);
  }
  const ratio = (a: Variant, b: Variant) => median(results[a].map((x, i) => x.opsPerSec / results[b][i]!.opsPerSec)).toFixed(3);
  console.log(`  payments / psp-direct ${ratio('payments', 'psp-direct')}×   payments-replay / psp-direct ${ratio('payments-replay', 'psp-direct')}×   (throughput, per-round median)`);
}
