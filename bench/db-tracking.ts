/**
 * Query tracking overhead (issue 29), in one run against the same PostgreSQL:
 * a "request" of REQUEST_STATEMENTS reads (`SELECT … FROM items WHERE id = $1`,
 * the pool's scoped one-batch path under withTenant) run
 *  - baseline: on a pool created with `tracking: false`, no work;
 *  - outside a work: a pool with tracking on, no work running (what every
 *    statement outside a request or job pays, e.g. bench/rls.ts's);
 *  - tracked: on a pool with tracking on (default options), the request being
 *    one tracked work (trackQueries: context entry, shape per statement, work
 *    totals observed at its end);
 *  - tracked + builder: the same, each read built with the query builder and
 *    compiled per call (runQuery).
 * Target: tracked ≤ 1.05× baseline. Round trips dominate and move with the
 * box's load, so the run also times the bookkeeping alone, in process with no
 * database (CPU_REQUESTS requests: entering a work, recording five statements,
 * finishing it; and compiling the five reads with the builder), which is
 * what tracking adds to each request. One connection each, serial; blocks of
 * BLOCK requests interleaved, order turning each block, BENCH_ROUNDS (5)
 * rounds; medians printed. Own schema, dropped at the end.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Registry } from 'prom-client';
import { createPool, createQueryBuilder, runQuery, trackQueries, withTenant, type DbPool } from '@bulwark/db';
import { silent } from '@bulwark/test-support';
import { PoolTracking, QueryWork, withQueryWork } from '../packages/db/src/query-tracking.ts';
import { ensureInfra } from '../scripts/infra/index.ts';

const REQUESTS = Number(process.env.BENCH_OPS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REQUEST_STATEMENTS = 5;
const BLOCK = 50;
const ITEMS = 1000;
const CPU_REQUESTS = 200_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Tables {
  items: { id: number; name: string };
}
const qb = createQueryBuilder<Tables>();

type Variant = 'baseline' | 'outside a work' | 'tracked' | 'tracked + builder';

async function request(db: DbPool, variant: Variant, n: number): Promise<void> {
  for (let s = 0; s < REQUEST_STATEMENTS; s++) {
    const id = (n * REQUEST_STATEMENTS + s) % ITEMS;
    const { rows } =
      variant === 'tracked + builder'
        ? await runQuery(db, 'bench.item_by_id', qb.selectFrom('items').select(['id', 'name']).where('id', '=', id))
        : await db.query({ name: 'bench.item_by_id', text: 'select "id", "name" from "items" where "id" = $1', values: [id] });
    if (rows.length !== 1) throw new Error(`item ${id} missing`);
  }
}

async function block(db: DbPool, variant: Variant, from: number): Promise<number> {
  const started = performance.now();
  for (let i = from; i < from + BLOCK; i++) {
    await withTenant('bench', () => (variant === 'baseline' || variant === 'outside a work' ? request(db, variant, i) : trackQueries('bench.request', () => request(db, variant, i))));
  }
  return performance.now() - started;
}

/** µs per request of the bookkeeping alone (no database): a work entered, five statements recorded, the work finished; and five builder compiles. */
function bookkeeping(): { tracking: number; builder: number } {
  const tracking = new PoolTracking('bench-cpu', silent, new Registry());
  const statement = { text: 'select "id", "name" from "items" where "id" = $1', values: [1] };
  const time = (fn: (i: number) => void): number => {
    for (let i = 0; i < CPU_REQUESTS / 10; i++) fn(i); // warm
    const started = performance.now();
    for (let i = 0; i < CPU_REQUESTS; i++) fn(i);
    return ((performance.now() - started) * 1000) / CPU_REQUESTS;
  };
  return {
    tracking: time(() => {
      const work = new QueryWork('request', 'GET /bench');
      withQueryWork(work, () => {
        for (let s = 0; s < REQUEST_STATEMENTS; s++) tracking.record('bench.item_by_id', statement, 0.3);
      });
      work.finish();
    }),
    builder: time((i) => {
      for (let s = 0; s < REQUEST_STATEMENTS; s++) qb.selectFrom('items').select(['id', 'name']).where('id', '=', i + s).compile();
    }),
  };
}

export default async function bench(): Promise<void> {
  const env = await ensureInfra(['postgres']);
  const url = env.BULWARK_PG_URL!;
  const schema = `bench_tracking_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
  const owner = createPool({ connectionString: url, name: 'bench-tracking-owner', max: 1, registry: new Registry(), log: silent, tracking: false });
  const pools: Record<Variant, DbPool> = {
    baseline: createPool({ connectionString: url, name: 'bench-untracked', max: 1, registry: new Registry(), log: silent, searchPath: [schema], tracking: false }),
    'outside a work': createPool({ connectionString: url, name: 'bench-tracking-idle', max: 1, registry: new Registry(), log: silent, searchPath: [schema] }),
    tracked: createPool({ connectionString: url, name: 'bench-tracked', max: 1, registry: new Registry(), log: silent, searchPath: [schema] }),
    'tracked + builder': createPool({ connectionString: url, name: 'bench-tracked-builder', max: 1, registry: new Registry(), log: silent, searchPath: [schema] }),
  };
  const variants = Object.keys(pools) as Variant[];
  try {
    await owner.query(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}";
      CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
      INSERT INTO items SELECT n, 'item-' || n FROM generate_series(0, ${ITEMS - 1}) n; ANALYZE items`);
    for (const v of variants) await block(pools[v], v, 0); // warm connections and plans
    console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores shared with the other helpers)`);
    console.log(`db-tracking bench: ${ROUNDS} rounds of ${REQUESTS} requests of ${REQUEST_STATEMENTS} tenant-scoped reads per variant, blocks of ${BLOCK} interleaved; one connection each, serial`);
    const perRequest = Object.fromEntries(variants.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
    const compared = ['outside a work', 'tracked', 'tracked + builder'] as const;
    const ratios = Object.fromEntries(compared.map((v) => [v, [] as number[]])) as Record<(typeof compared)[number], number[]>;
    for (let r = 0; r < ROUNDS; r++) {
      const ms = Object.fromEntries(variants.map((v) => [v, 0])) as Record<Variant, number>;
      for (let b = 0; b < REQUESTS / BLOCK; b++) {
        const turn = (b + r) % variants.length;
        for (const v of [...variants.slice(turn), ...variants.slice(0, turn)]) ms[v] += await block(pools[v], v, b * BLOCK);
      }
      for (const v of variants) perRequest[v].push((ms[v] * 1000) / REQUESTS);
      for (const v of compared) ratios[v].push(ms[v] / ms.baseline);
      console.log(`  round ${r + 1}: ${variants.map((v) => `${v} ${((ms[v] * 1000) / REQUESTS).toFixed(0)} µs`).join(' | ')} per request`);
    }
    await trackQueries('bench.context', async () => undefined); // the kit's context manager, as in a service
    const cpu = bookkeeping();
    console.log(`bookkeeping alone (in process, ${CPU_REQUESTS} requests of ${REQUEST_STATEMENTS} statements): tracking ${cpu.tracking.toFixed(2)} µs per request (${((cpu.tracking / median(perRequest.baseline)) * 100).toFixed(2)}% of a baseline request); builder compiles ${cpu.builder.toFixed(2)} µs per request (${((cpu.builder / median(perRequest.baseline)) * 100).toFixed(2)}%)`);
    for (const v of compared) {
      const ratio = median(ratios[v]);
      console.log(`${v}: ${median(perRequest[v]).toFixed(0)} µs vs baseline ${median(perRequest.baseline).toFixed(0)} µs per request of ${REQUEST_STATEMENTS} statements → ${ratio.toFixed(3)}× (median of rounds; target ≤ 1.05) ${ratio <= 1.05 ? 'OK' : 'ABOVE TARGET'}`);
    }
  } finally {
    await Promise.all(variants.map((v) => pools[v].close()));
    await owner.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await owner.close();
  }
}
