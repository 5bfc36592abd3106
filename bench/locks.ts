/**
 * Lock acquire + release: each @bulwark/locks kind against the raw call it is
 * built on, in the same run. PostgreSQL session lock (checkout, lock with
 * lock_timeout and the fence nextval in one round trip, unlock) vs raw
 * `pg_advisory_lock` + `pg_advisory_unlock` on a checked-out client;
 * transaction lock (withTransaction + lockInTransaction) vs the same
 * transaction with a raw `pg_advisory_xact_lock`; Redlock on three private
 * redis-servers (acquire script everywhere, release script everywhere) vs raw
 * `SET NX PX` + `DEL` on one of them, plus Redlock on that one alone to split
 * the cost of the fan-out from the cost of the scripts. Latency with one
 * caller (p50/p99), throughput with BENCH_CONCURRENCY (16) callers on
 * distinct names. Rounds alternate ours and raw; prints the ratios.
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { Redis } from 'ioredis';
import { createPool, withTransaction } from '@bulwark/db';
import { RedisProcess, silent } from '@bulwark/test-support';
import { migrateLocks, PgLocks, Redlock } from '../packages/locks/src/index.ts';
import { ensureInfra } from '../scripts/infra/index.ts';
import { measureClosedLoop, summarize, type Round, type Summary } from './lib/closed-loop.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const OPS = Number(process.env.BENCH_OPS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

type Op = (i: number, caller: number) => Promise<unknown>;

interface Pair {
  label: string;
  ours: Op;
  raw: Op;
  rawLabel: string;
}

async function compare(pair: Pair): Promise<void> {
  const rounds = { oursLat: [] as Round[], rawLat: [] as Round[], oursTput: [] as Round[], rawTput: [] as Round[] };
  await measureClosedLoop(pair.ours, { ops: 200, concurrency: CONCURRENCY }); // warm-up
  await measureClosedLoop(pair.raw, { ops: 200, concurrency: CONCURRENCY });
  for (let r = 0; r < ROUNDS; r++) {
    rounds.oursLat.push(await measureClosedLoop(pair.ours, { ops: Math.floor(OPS / 4), concurrency: 1 }));
    rounds.rawLat.push(await measureClosedLoop(pair.raw, { ops: Math.floor(OPS / 4), concurrency: 1 }));
    rounds.oursTput.push(await measureClosedLoop(pair.ours, { ops: OPS, concurrency: CONCURRENCY }));
    rounds.rawTput.push(await measureClosedLoop(pair.raw, { ops: OPS, concurrency: CONCURRENCY }));
  }
  const [ol, rl, ot, rt] = [rounds.oursLat, rounds.rawLat, rounds.oursTput, rounds.rawTput].map(summarize) as [Summary, Summary, Summary, Summary];
  const lat = (s: Summary): string => `p50 ${s.p50.toFixed(3)} ms  p99 ${s.p99.toFixed(3)} ms`;
  console.log(`${pair.label}  vs  ${pair.rawLabel}`);
  console.log(`  1 caller     ours ${lat(ol)}   raw ${lat(rl)}   p50 ${(ol.p50 / rl.p50).toFixed(2)}×  p99 ${(ol.p99 / rl.p99).toFixed(2)}×`);
  console.log(
    `  ${CONCURRENCY} callers   ours ${ot.opsPerSec.toFixed(0)}/s   raw ${rt.opsPerSec.toFixed(0)}/s   throughput ${(ot.opsPerSec / rt.opsPerSec).toFixed(3)}×   (p99 ${ot.p99.toFixed(2)} vs ${rt.p99.toFixed(2)} ms)`,
  );
}

export default async function run(): Promise<void> {
  const pgUrl = (await ensureInfra(['postgres'])).BULWARK_PG_URL!;
  const schema = `locks_bench_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
  const pool = createPool({ connectionString: pgUrl, name: 'locks_bench', max: CONCURRENCY * 2, registry: new Registry(), log: silent });
  await migrateLocks({ pool, schema });
  const pgLocks = new PgLocks({ pool, schema });
  const servers = await Promise.all([RedisProcess.start(), RedisProcess.start(), RedisProcess.start()]);
  const clients = servers.map((s) => new Redis(s.url, { maxRetriesPerRequest: 0 }));
  await Promise.all(clients.map((c) => c.ping()));
  const redlock = new Redlock({ clients, prefix: 'bench:3:' });
  const redlockOne = new Redlock({ clients: [clients[0]!], prefix: 'bench:1:' });
  const raw = clients[0]!;
  const name = (caller: number): string => `bench-lock-${caller}`;
  const keys = Array.from({ length: CONCURRENCY }, (_, c) => BigInt.asIntN(64, BigInt(c) * 2654435761n).toString());
  console.log(`lock acquire + release; ${ROUNDS} rounds of ${OPS / 4} calls (1 caller) and ${OPS} calls (${CONCURRENCY} callers on distinct names); load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);

  try {
    await compare({
      label: 'PostgreSQL session lock (PgLocks.acquire + release, with fence token)',
      ours: async (_i, c) => (await pgLocks.acquire(name(c))).release(),
      rawLabel: 'raw pg_advisory_lock + pg_advisory_unlock',
      raw: async (_i, c) => {
        const client = await pool.connect();
        try {
          await client.query({ name: 'bench.lock', text: 'SELECT pg_advisory_lock($1::bigint)', values: [keys[c]] });
          await client.query({ name: 'bench.unlock', text: 'SELECT pg_advisory_unlock($1::bigint)', values: [keys[c]] });
        } finally {
          client.release();
        }
      },
    });
    await compare({
      label: 'PostgreSQL transaction lock (withTransaction + lockInTransaction, with fence token)',
      ours: (_i, c) => withTransaction(pool, (tx) => pgLocks.lockInTransaction(tx, name(c))),
      rawLabel: 'the same transaction with raw pg_advisory_xact_lock',
      raw: (_i, c) => withTransaction(pool, (tx) => tx.query({ name: 'bench.xact', text: 'SELECT pg_advisory_xact_lock($1::bigint)', values: [keys[c]] })),
    });
    await compare({
      label: 'Redlock on 3 Redis (acquire + release, with fence token)',
      ours: async (_i, c) => (await redlock.acquire(name(c), { ttlMs: 10_000, waitMs: 5_000 })).release(),
      rawLabel: 'raw SET NX PX + DEL on one Redis',
      raw: async (_i, c) => {
        if ((await raw.set(`bench:raw:${c}`, 'v', 'PX', 10_000, 'NX')) !== 'OK') throw new Error('raw lock taken');
        await raw.del(`bench:raw:${c}`);
      },
    });
    await compare({
      label: 'Redlock on 1 Redis (acquire + release, with fence token)',
      ours: async (_i, c) => (await redlockOne.acquire(name(c), { ttlMs: 10_000, waitMs: 5_000 })).release(),
      rawLabel: 'raw SET NX PX + DEL on the same Redis',
      raw: async (_i, c) => {
        if ((await raw.set(`bench:raw:${c}`, 'v', 'PX', 10_000, 'NX')) !== 'OK') throw new Error('raw lock taken');
        await raw.del(`bench:raw:${c}`);
      },
    });
  } finally {
    for (const c of clients) c.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await pool.close();
  }
}
