/**
 * Zero-downtime migration under load (issue 29): on BENCH_ROWS (1,000,000)
 * seeded customers, v1 instances of a small service-kit service serve
 * BENCH_WORKERS (8) closed-loop clients while `email` is renamed and the
 * address split into its own table (expand, throttled backfill of
 * BENCH_BATCH (1,000) rows per batch with BENCH_PAUSE_MS (20) between
 * batches, verify), v2 runs beside v1, contract is refused while v1
 * heartbeats, v1 stops, contract runs. Prints failed requests, lost and
 * wrong rows, and the p99 of each phase with the backfill's ratio to the
 * same run's baseline (the load before expand). Own schema, dropped at the end.
 * Run with NODE_OPTIONS=--conditions=bulwark-source.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { runZeroDowntimeScenario } from '../packages/db/test/fixtures/zero-downtime-scenario.ts';
import { ensureInfra } from '../scripts/infra/index.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 8);
const BATCH = Number(process.env.BENCH_BATCH ?? 1_000);
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS ?? 20);
const PHASE_REQUESTS = Number(process.env.BENCH_OPS ?? 3_000);

export default async function bench(): Promise<void> {
  const env = await ensureInfra(['postgres']);
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`load average at start: ${load()} (2 cores shared with the other helpers)`);
  console.log(`migrate bench: ${ROWS.toLocaleString('en')} rows, ${WORKERS} clients, backfill batches of ${BATCH} with ${PAUSE_MS} ms pauses`);
  const started = performance.now();
  const r = await runZeroDowntimeScenario({
    url: env.BULWARK_PG_URL!,
    schema: `bench_migrate_${randomUUID().replaceAll('-', '').slice(0, 8)}`,
    rows: ROWS,
    workers: WORKERS,
    batchSize: BATCH,
    pauseMs: PAUSE_MS,
    phaseRequests: PHASE_REQUESTS,
    log: (line) => console.log(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`),
  });
  for (const [phase, s] of Object.entries(r.phases)) {
    console.log(`  ${phase.padEnd(13)} ${String(s.count).padStart(6)} requests  p50 ${s.p50.toFixed(1).padStart(7)} ms  p99 ${s.p99.toFixed(1).padStart(7)} ms`);
  }
  const ratio = r.phases.backfill!.p99 / r.phases.baseline!.p99;
  console.log(`backfill: ${r.backfillBatches} batches in ${(r.backfillMs / 1000).toFixed(1)} s (${Math.round((2 * ROWS) / (r.backfillMs / 1000)).toLocaleString('en')} rows/s over both changes)`);
  console.log(`p99 during backfill / baseline p99 (same run): ${ratio.toFixed(2)}×`);
  console.log(`dual-write triggers (v1 alone, after verify) / baseline: p50 ${(r.phases['dual writes']!.p50 / r.phases.baseline!.p50).toFixed(2)}×, p99 ${(r.phases['dual writes']!.p99 / r.phases.baseline!.p99).toFixed(2)}×`);
  console.log(`requests ${r.requests}, failed ${r.failures.length}, lost rows ${r.lostRows}, wrong rows ${r.wrongRows.length}, previous release statements failing on the new schema ${r.previousRelease.filter((p) => p.error).length}, contract while v1 live: ${r.contractRefusal ?? 'NOT refused'}`);
  for (const f of r.failures.slice(0, 5)) console.log(`  failure: ${JSON.stringify(f)}`);
  for (const w of r.wrongRows.slice(0, 5)) console.log(`  wrong row: ${JSON.stringify(w)}`);
  console.log(`load average at end: ${load()}`);
  if (r.failures.length > 0 || r.lostRows !== 0 || r.wrongRows.length > 0) process.exitCode = 1;
}
