/**
 * Cost of one notifications dispatch pass (issue 34 §4) with the backlog of
 * an endpoint it cannot deliver to, in one run against the same table:
 *  - `endpoint-driven`: the claim statement the dispatcher runs now
 *    (`claimDeliveriesSql`, one probe of the per-endpoint partial index for
 *    each active endpoint whose breaker is not open, migration 0004);
 *  - `global order` (baseline): the statement it ran before, kept here
 *    verbatim: every pending, never-enqueued row in `seq` order joined to its
 *    endpoint, so a disabled endpoint's backlog is read on every pass.
 * The table, on a scratch schema migrated like the service's: one disabled
 * endpoint with BENCH_BACKLOG (85,000, the issue's figure) pending rows, one
 * ordered active endpoint with BENCH_ORDERED_PENDING (2) pending rows whose
 * head is in flight, nine idle active endpoints. (The old statement is also
 * quadratic in the ordered endpoint's own backlog: its NOT EXISTS became a
 * sequential scan per row, 11.8 s per pass with 1,000 pending there.) Steady state: neither statement finds a row to
 * claim, so the figure is the pure cost of looking. Each pass runs in its own
 * transaction in the system context (as the dispatcher does) and is rolled
 * back; passes of the two variants are interleaved, the order turning each
 * round, BENCH_ROUNDS (5) rounds of BENCH_PASSES (20). Prints the medians,
 * the ratio, the passes per second each allows (an ordered endpoint gets one
 * delivery per pass) and the buffers of one EXPLAIN (ANALYZE, BUFFERS) each.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createPool, DEV_ROLE_PASSWORD, ensureDbRoles, migrate, type DbClient } from '@bulwark/db';
import { silent } from '@bulwark/test-support';
import { ensureInfra } from '../scripts/infra/index.ts';
import { claimDeliveriesSql } from '../apps/notifications/src/store/deliveries-store.ts';

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 85_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PASSES = Number(process.env.BENCH_PASSES ?? 20);
const ORDERED_PENDING = Number(process.env.BENCH_ORDERED_PENDING ?? 2);
const LIMIT = 200; // the dispatcher's batch
const MIGRATIONS_DIR = fileURLToPath(new URL('../apps/notifications/migrations/', import.meta.url));

/** The claim of commit ced8cd3..c920d47 (before migration 0004), not stale: the baseline. */
const GLOBAL_ORDER_SQL = `WITH c AS (
   SELECT d.id FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
   WHERE d.status = 'pending' AND e.status = 'active' AND d.enqueued_at IS NULL
     AND (NOT e.ordered OR NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.endpoint_id = d.endpoint_id AND p.status = 'pending' AND p.seq < d.seq))
   ORDER BY d.seq LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
 UPDATE deliveries SET enqueued_at = now() FROM c WHERE deliveries.id = c.id RETURNING deliveries.id`;

const VARIANTS = { 'endpoint-driven': claimDeliveriesSql(false), 'global order (before)': GLOBAL_ORDER_SQL } as const;
type Variant = keyof typeof VARIANTS;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function seed(client: DbClient): Promise<void> {
  const tenant = 'bench-tenant';
  const disabled = randomUUID();
  const ordered = randomUUID();
  await client.query('BEGIN');
  await client.query(`SELECT set_config('bulwark.system', 'on', true)`);
  await client.query(`INSERT INTO endpoints (id, tenant_id, url, event_types, status, disabled_at) VALUES ($1, $2, 'http://127.0.0.1:9/', '{*}', 'disabled', now())`, [disabled, tenant]);
  await client.query(`INSERT INTO endpoints (id, tenant_id, url, event_types, ordered) VALUES ($1, $2, 'http://127.0.0.1:9/', '{*}', true)`, [ordered, tenant]);
  await client.query(`INSERT INTO endpoints (id, tenant_id, url, event_types) SELECT gen_random_uuid(), $1, 'http://127.0.0.1:9/', '{*}' FROM generate_series(1, 9)`, [tenant]);
  const rows = (endpoint: string, n: number, prefix: string) =>
    client.query(
      `INSERT INTO deliveries (id, endpoint_id, tenant_id, event_id, event_type, payload) SELECT gen_random_uuid(), $1, $2, $3 || g, 'order.confirmed', '{"bench":true}' FROM generate_series(1, $4::int) g`,
      [endpoint, tenant, prefix, n],
    );
  await rows(disabled, BACKLOG, 'backlog-');
  await rows(ordered, ORDERED_PENDING, 'ordered-');
  // The ordered endpoint's head is in flight (has a job): a pass has nothing of it to offer.
  await client.query(`UPDATE deliveries SET enqueued_at = now() WHERE id = (SELECT id FROM deliveries WHERE endpoint_id = $1 ORDER BY seq LIMIT 1)`, [ordered]);
  await client.query('COMMIT');
  await client.query('ANALYZE endpoints; ANALYZE deliveries');
}

/** One pass in its own transaction, rolled back; returns ms and the rows it would have claimed. */
async function pass(client: DbClient, variant: Variant): Promise<{ ms: number; claimed: number }> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT set_config('bulwark.system', 'on', true)`);
    const started = performance.now();
    const { rowCount } = await client.query(VARIANTS[variant], [LIMIT]);
    return { ms: performance.now() - started, claimed: rowCount ?? 0 };
  } finally {
    await client.query('ROLLBACK');
  }
}

async function buffers(client: DbClient, variant: Variant): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT set_config('bulwark.system', 'on', true)`);
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: Record<string, number> }] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${VARIANTS[variant]}`, [LIMIT]);
    const plan = rows[0]!['QUERY PLAN'][0].Plan;
    return (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0);
  } finally {
    await client.query('ROLLBACK');
  }
}

export default async function bench(): Promise<void> {
  const env = await ensureInfra(['postgres']);
  const ownerUrl = env.BULWARK_PG_URL!;
  await ensureDbRoles({ ownerUrl, password: DEV_ROLE_PASSWORD });
  const schema = `bench_dispatch_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
  const admin = createPool({ connectionString: ownerUrl, name: 'bench-dispatch-admin', max: 1, registry: new Registry(), log: silent });
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const pool = createPool({ connectionString: ownerUrl, name: 'bench-dispatch', max: 1, registry: new Registry(), log: silent, searchPath: [schema] });
  try {
    await migrate({ pool, dir: MIGRATIONS_DIR, schema, phase: 'all' });
    const client = await pool.connect();
    try {
      await client.query(`SET search_path TO "${schema}"`);
      await seed(client);
      const names = Object.keys(VARIANTS) as Variant[];
      for (const v of names) for (let i = 0; i < 3; i++) await pass(client, v); // warm plans and cache
      console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores shared with the other helpers)`);
      console.log(`dispatch pass bench: ${BACKLOG} pending rows of a disabled endpoint, an ordered endpoint with ${ORDERED_PENDING} pending (head in flight), 9 idle active endpoints; ${ROUNDS} rounds of ${PASSES} passes per variant, interleaved`);
      const ms: Record<Variant, number[]> = { 'endpoint-driven': [], 'global order (before)': [] };
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? names : [...names].reverse();
        for (let p = 0; p < PASSES; p++) {
          for (const v of order) {
            const { ms: took, claimed } = await pass(client, v);
            if (claimed !== 0) throw new Error(`${v} claimed ${claimed} rows: the seed is not the steady state it should be`);
            ms[v].push(took);
          }
        }
        console.log(`  round ${r + 1}: ${names.map((v) => `${v} ${median(ms[v].slice(-PASSES)).toFixed(2)} ms`).join(' | ')}`);
      }
      for (const v of names) {
        const m = median(ms[v]);
        console.log(`${v}: median ${m.toFixed(2)} ms per pass (≤ ${Math.floor(1000 / m)} passes/s), ${await buffers(client, v)} buffers (EXPLAIN ANALYZE)`);
      }
      const ratio = median(ms['global order (before)']) / median(ms['endpoint-driven']);
      console.log(`endpoint-driven pass is ${ratio.toFixed(1)}× cheaper than the global-order pass with this backlog`);
    } finally {
      client.release();
    }
  } finally {
    await pool.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.close();
  }
}
