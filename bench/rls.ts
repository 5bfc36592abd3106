/**
 * Row-level security overhead (issue 25), in one run against the same
 * PostgreSQL, as the runtime role (`bulwark_app`, subject to RLS):
 *  - an orders read: `SELECT * FROM order_summaries WHERE order_id = $1`;
 *  - an event append: the real `appendToStream` (apps/orders) of one event,
 *    on its own (autocommit) and inside withTransaction.
 * Each against two copies of the orders schema (its migrations): one as
 * migrated (tenant column, ENABLE + FORCE ROW LEVEL SECURITY and the three
 * policies), called inside `withTenant` (a lone statement: set_config and the
 * statement in one extended-protocol batch with one Sync, packages/db
 * scoped-query.ts; in a transaction: set_config rides in BEGIN's message);
 * one with RLS and the column taken off, called with no context (the
 * statement alone). Target: RLS ≤ 1.10× for both. One connection,
 * serial; blocks of BLOCK operations interleaved, order turning each block,
 * BENCH_ROUNDS (5) rounds; medians printed. Own schemas, dropped at the end.
 * Beside wall time, the CPU time each operation costs: this process's
 * (process.cpuUsage) plus its PostgreSQL backend's (/proc/<pid>/schedstat,
 * when the server runs on this machine). On a box shared with other jobs the
 * wall time is mostly waiting for a core; the CPU time is the work itself.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createPool, DB_ROLES, DEV_ROLE_PASSWORD, ensureDbRoles, grantSchemaAccess, migrate, urlForRole, withTenant, withTransaction, type DbPool } from '@bulwark/db';
import { silent } from '@bulwark/test-support';
import { ensureInfra } from '../scripts/infra/index.ts';
import { appendToStream, type NewEvent } from '../apps/orders/src/store/event-store.ts';

const OPS = Number(process.env.BENCH_OPS ?? 4000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BLOCK = 100;
const TENANTS = 10;
const ORDERS = 2000;
const MIGRATIONS_DIR = fileURLToPath(new URL('../apps/orders/migrations/', import.meta.url));

/** The orders migrations put every table under RLS (0007); the baseline copy takes it off again and drops the column. */
const withoutRlsSql = (table: string) => `
  ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY;
  ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY;
  ALTER TABLE ${table} DROP COLUMN tenant_id CASCADE;`;

const event = (i: number): NewEvent => ({ type: 'ItemAdded', data: { sku: `sku-${i % 50}`, quantity: 1 + (i % 5), unitPriceCents: 1299 }, metadata: { correlationId: 'bench' } });
const tenantOf = (i: number) => `tenant-${i % TENANTS}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Variant {
  db: DbPool;
  scoped: boolean;
  streams: Array<{ id: string; version: number; tenant: string }>;
  /** Its one connection's backend, when /proc shows it (a local server). */
  backendPid?: number;
}

/** CPU time so far in µs: this process, and the variant's backend (0 when not visible). */
function cpuNow(v: Variant): { client: number; server: number } {
  const { user, system } = process.cpuUsage();
  let server = 0;
  if (v.backendPid !== undefined) {
    try {
      server = Number(readFileSync(`/proc/${v.backendPid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
    } catch {
      v.backendPid = undefined;
    }
  }
  return { client: user + system, server };
}

/** Runs `block` and adds its wall and CPU time (µs) to `acc`. */
async function measure(v: Variant, acc: { wall: number; cpu: number }, block: () => Promise<number>): Promise<void> {
  const before = cpuNow(v);
  acc.wall += (await block()) * 1000;
  const after = cpuNow(v);
  acc.cpu += after.client - before.client + (after.server - before.server);
}

const run = <T>(v: Variant, tenant: string, fn: () => Promise<T>): Promise<T> => (v.scoped ? withTenant(tenant, fn) : fn());

async function readBlock(v: Variant, from: number): Promise<number> {
  const started = performance.now();
  for (let i = from; i < from + BLOCK; i++) {
    const n = i % ORDERS;
    const { rows } = await run(v, tenantOf(n), () => v.db.query({ name: 'bench.order_by_id', text: 'SELECT * FROM order_summaries WHERE order_id = $1', values: [`order-${n}`], prepare: true }));
    if (rows.length !== 1) throw new Error(`order-${n} not visible (${v.scoped ? 'rls' : 'plain'})`);
  }
  return performance.now() - started;
}

async function appendBlock(v: Variant, from: number): Promise<number> {
  const started = performance.now();
  for (let i = from; i < from + BLOCK; i++) {
    const stream = v.streams[i % v.streams.length]!;
    await run(v, stream.tenant, () => appendToStream(v.db, stream.id, 'order', stream.version, [event(i)]));
    stream.version++;
  }
  return performance.now() - started;
}

/** The same append inside withTransaction (BEGIN … COMMIT both sides; with RLS the set_config rides in BEGIN's message). */
async function appendTxBlock(v: Variant, from: number): Promise<number> {
  const started = performance.now();
  for (let i = from; i < from + BLOCK; i++) {
    const stream = v.streams[i % v.streams.length]!;
    await run(v, stream.tenant, () => withTransaction(v.db, (tx) => appendToStream(tx, stream.id, 'order', stream.version, [event(i)])));
    stream.version++;
  }
  return performance.now() - started;
}

async function seed(owner: DbPool, schema: string, scoped: boolean): Promise<void> {
  await owner.query(`CREATE SCHEMA "${schema}"`);
  await migrate({ pool: owner, dir: MIGRATIONS_DIR, schema, phase: 'all' });
  if (!scoped) for (const t of ['streams', 'events', 'order_summaries']) await owner.query(`SET search_path TO "${schema}"; ${withoutRlsSql(t)}`);
  await owner.query(`SET search_path TO "${schema}"; INSERT INTO order_summaries (order_id, customer_id, status, version, created_at, updated_at${scoped ? ', tenant_id' : ''})
    SELECT 'order-' || n, 'customer-' || (n % 97), 'placed', 1, now(), now()${scoped ? `, 'tenant-' || (n % ${TENANTS})` : ''} FROM generate_series(0, ${ORDERS - 1}) n; ANALYZE order_summaries, streams, events`);
  await grantSchemaAccess({ pool: owner, schema, runtimeRole: DB_ROLES.runtime });
}

export default async function bench(): Promise<void> {
  const env = await ensureInfra(['postgres']);
  const ownerUrl = env.BULWARK_PG_URL!;
  await ensureDbRoles({ ownerUrl, password: DEV_ROLE_PASSWORD });
  const runtimeUrl = urlForRole(ownerUrl, DB_ROLES.runtime, DEV_ROLE_PASSWORD);
  const id = randomUUID().replaceAll('-', '').slice(0, 8);
  const schemas = { rls: `bench_rls_${id}`, plain: `bench_rls_plain_${id}` };
  const owner = createPool({ connectionString: ownerUrl, name: 'bench-rls-owner', max: 1, registry: new Registry(), log: silent });
  const pools: DbPool[] = [];
  try {
    await seed(owner, schemas.rls, true);
    await seed(owner, schemas.plain, false);
    const variant = (schema: string, scoped: boolean): Variant => {
      // One connection kept for the whole run (min 1, no idle timeout), so its backend's CPU time can be read.
      const db = createPool({ connectionString: runtimeUrl, name: `bench-rls-${scoped ? 'rls' : 'plain'}`, min: 1, max: 1, idleTimeoutMs: 0, registry: new Registry(), log: silent, searchPath: [schema] });
      pools.push(db);
      return { db, scoped, streams: Array.from({ length: 50 }, (_, i) => ({ id: `stream-${id}-${i}`, version: 0, tenant: tenantOf(i) })) };
    };
    const rls = variant(schemas.rls, true);
    const plain = variant(schemas.plain, false);
    for (const v of [rls, plain]) {
      const pid = (await v.db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      try {
        readFileSync(`/proc/${pid}/schedstat`);
        v.backendPid = pid;
      } catch {
        // A server elsewhere: CPU time is this process's only.
      }
    }
    // Each stream's first event creates it; warm both connections and plans.
    for (const v of [rls, plain]) {
      await appendBlock(v, 0);
      await readBlock(v, 0);
    }
    console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores shared with the other helpers)`);
    console.log(`rls bench: ${ROUNDS} rounds of ${OPS} reads and ${OPS} single-event appends per variant, blocks of ${BLOCK} interleaved; one connection each, serial; ${TENANTS} tenants, ${ORDERS} orders`);
    const kinds = ['read', 'append', 'append in a transaction'] as const;
    type Kind = (typeof kinds)[number];
    const ratios = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    const means = Object.fromEntries(kinds.map((k) => [k, { rls: [] as number[], plain: [] as number[] }])) as Record<Kind, { rls: number[]; plain: number[] }>;
    const cpuRatios = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    const cpuMeans = Object.fromEntries(kinds.map((k) => [k, { rls: [] as number[], plain: [] as number[] }])) as Record<Kind, { rls: number[]; plain: number[] }>;
    const blocks: Record<Kind, (v: Variant, from: number) => Promise<number>> = { read: readBlock, append: appendBlock, 'append in a transaction': appendTxBlock };
    for (let r = 0; r < ROUNDS; r++) {
      const us = Object.fromEntries(kinds.map((k) => [k, { rls: { wall: 0, cpu: 0 }, plain: { wall: 0, cpu: 0 } }])) as Record<Kind, Record<'rls' | 'plain', { wall: number; cpu: number }>>;
      for (let b = 0; b < OPS / BLOCK; b++) {
        const order = (b + r) % 2 === 0 ? ([['rls', rls], ['plain', plain]] as const) : ([['plain', plain], ['rls', rls]] as const);
        for (const [name, v] of order) {
          for (const kind of kinds) await measure(v, us[kind][name], () => blocks[kind](v, b * BLOCK));
        }
      }
      for (const kind of kinds) {
        const { rls: a, plain: p } = us[kind];
        means[kind].rls.push(a.wall / OPS);
        means[kind].plain.push(p.wall / OPS);
        ratios[kind].push(a.wall / p.wall);
        cpuMeans[kind].rls.push(a.cpu / OPS);
        cpuMeans[kind].plain.push(p.cpu / OPS);
        cpuRatios[kind].push(a.cpu / p.cpu);
      }
      console.log(
        `  round ${r + 1}: ${kinds.map((k) => `${k} ${(us[k].rls.wall / OPS).toFixed(0)} / ${(us[k].plain.wall / OPS).toFixed(0)} µs (${(us[k].rls.wall / us[k].plain.wall).toFixed(3)}×, CPU ${(us[k].rls.cpu / us[k].plain.cpu).toFixed(3)}×)`).join(' | ')}`,
      );
    }
    const cpuOf = rls.backendPid !== undefined && plain.backendPid !== undefined ? 'this process + its backend' : 'this process only';
    for (const kind of kinds) {
      const ratio = median(ratios[kind]);
      console.log(
        `${kind}: RLS ${median(means[kind].rls).toFixed(0)} µs vs without ${median(means[kind].plain).toFixed(0)} µs per operation → ${ratio.toFixed(3)}× (median of rounds; target ≤ 1.10) ${ratio <= 1.1 ? 'OK' : 'ABOVE TARGET'}; ` +
          `CPU ${median(cpuMeans[kind].rls).toFixed(1)} vs ${median(cpuMeans[kind].plain).toFixed(1)} µs (${cpuOf}) → ${median(cpuRatios[kind]).toFixed(3)}×`,
      );
    }
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    for (const schema of Object.values(schemas)) await owner.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await owner.close();
  }
}
