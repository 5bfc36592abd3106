/**
 * Exactly once across leader changes: three operator processes (src/main.ts
 * as child processes, as in a Deployment) against the real API server, one
 * CronTask firing every second under Forbid, the current leader SIGKILLed
 * every ~15 s and replaced by a fresh replica. The target is a real HTTP
 * server writing each (task, tick) into PostgreSQL under a UNIQUE constraint:
 *
 * - a request for a (task, tick) already stored is a double fire unless it
 *   repeats the same claim (same run uid and Idempotency-Key: a resumed run
 *   the dead leader had already delivered, which the target answers from its
 *   record, as an idempotent receiver does) — double fires go to
 *   `duplicates` and fail the test;
 * - every second of the window must be stored (none missed: the starting
 *   deadline, 30 s, is longer than any leaderless gap), and status.missedTicks
 *   stays 0;
 * - request intervals never overlap (Forbid), and the fencing token's
 *   leaseTransitions never goes down from one tick to the next.
 *
 * Duration: BULWARK_CRON_SOAK_SECONDS, default 120 (the two minutes the
 * issue asks for, about seven kills); a shorter value is for quick local runs.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoordinationV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import pg from 'pg';
import { pgUrl, startHttpServer, type HttpServer } from '@bulwark/test-support';
import { CRONTASK, type CronTask } from '../src/reconcilers/crontask.ts';
import { releaseCronTasks } from './crontask-fixture.ts';
import { CLUSTER_START_MS, connect, createNamespace, deleteNamespace, eventually, installCrds } from './helpers.ts';
import { spawnOperator } from './operator-process.ts';

const SOAK_MS = Number(process.env.BULWARK_CRON_SOAK_SECONDS ?? 120) * 1000;
const KILL_EVERY_MS = 15_000;
const DEADLINE_SECONDS = 30;

let kc: KubeConfig;
let custom: CustomObjectsApi;
let namespace: string;
let pool: pg.Pool;
let schema: string;
let target: HttpServer | undefined;
const replicas = new Map<string, ChildProcess>();
const logDir = mkdtempSync(join(tmpdir(), 'cron-soak-'));

beforeAll(async () => {
  kc = await connect();
  custom = kc.makeApiClient(CustomObjectsApi);
  await installCrds();
  namespace = await createNamespace(kc, 'cronsoak');
  const url = pgUrl();
  schema = `cron_soak_${randomUUID().slice(0, 8)}`;
  pool = new pg.Pool({ connectionString: url, max: 8, options: `-c search_path=${schema}` });
  await pool.query(`create schema ${schema}`);
  await pool.query(`
    create table fires (task text not null, tick timestamptz not null, run_uid text not null, idempotency_key text not null, fencing_token text not null,
                        received_at timestamptz not null default clock_timestamp(), unique (task, tick));
    create table duplicates (task text, tick timestamptz, run_uid text, first_run_uid text, fencing_token text, received_at timestamptz default clock_timestamp());
    create table replays (task text, tick timestamptz, run_uid text, fencing_token text, received_at timestamptz default clock_timestamp());
    create table calls (task text, tick timestamptz, started_ms bigint, ended_ms bigint);`);
}, CLUSTER_START_MS);

afterAll(async () => {
  for (const child of replicas.values()) child.kill('SIGKILL');
  replicas.clear();
  await target?.close();
  await releaseCronTasks(custom, namespace).catch(() => undefined);
  await deleteNamespace(kc, namespace);
  await pool?.query(`drop schema if exists ${schema} cascade`).catch(() => undefined);
  await pool?.end();
});

/** The target: one INSERT per (task, tick) under the UNIQUE constraint; a repeat of the same claim is answered from the record. */
async function startTarget(): Promise<string> {
  target = await startHttpServer((req, res) => {
    void (async () => {
      for await (const chunk of req) void chunk;
      const h = (name: string): string => String(req.headers[name] ?? '');
      const [key, tick, runUid, token] = [h('idempotency-key'), h('bulwark-tick'), h('bulwark-run-uid'), h('bulwark-fencing-token')];
      const task = key.split('/')[1] ?? '';
      const started = Date.now();
      const stored = async (): Promise<string | undefined> =>
        (await pool.query<{ run_uid: string }>('select run_uid from fires where task = $1 and tick = $2', [task, tick])).rows[0]?.run_uid;
      let first = await stored();
      if (first === undefined) {
        try {
          await pool.query('insert into fires (task, tick, run_uid, idempotency_key, fencing_token) values ($1, $2, $3, $4, $5)', [task, tick, runUid, key, token]);
        } catch (error) {
          if ((error as { code?: string }).code !== '23505') throw error;
          first = await stored();
        }
      }
      if (first !== undefined) {
        if (first === runUid) await pool.query('insert into replays (task, tick, run_uid, fencing_token) values ($1, $2, $3, $4)', [task, tick, runUid, token]);
        else await pool.query('insert into duplicates (task, tick, run_uid, first_run_uid, fencing_token) values ($1, $2, $3, $4, $5)', [task, tick, runUid, first, token]);
      }
      // The work the tick stands for; long enough that overlapping runs would show.
      await new Promise((r) => setTimeout(r, 150));
      await pool.query('insert into calls (task, tick, started_ms, ended_ms) values ($1, $2, $3, $4)', [task, tick, started, Date.now()]);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  return `${target.url}/tick`;
}

let nextReplica = 0;
async function startReplica(): Promise<string> {
  // Short enough for several terms a minute, long enough that a loaded CI box does not make leaders flap.
  const { identity, child } = await spawnOperator({
    namespace,
    podName: `op-${nextReplica++}`,
    logDir,
    timings: { leaseDurationMs: 5000, renewDeadlineMs: 4000, retryPeriodMs: 1000 },
  });
  replicas.set(identity, child);
  return identity;
}

async function holder(): Promise<string | undefined> {
  const lease = await kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: 'platform-operator', namespace })
    .catch(() => undefined);
  return lease?.spec?.holderIdentity || undefined;
}

describe('CronTask exactly once across leader kills (3 operator processes, real API server, real PostgreSQL)', () => {
  it('when the leader is SIGKILLed every ~15 s, then every tick of an every-second task fires exactly once, none is missed and Forbid runs never overlap', async () => {
    const url = await startTarget();
    for (let i = 0; i < 3; i++) await startReplica();
    const crashed: string[] = [];
    for (const [identity, child] of replicas) child.on('exit', (code, signal) => signal !== 'SIGKILL' && crashed.push(`${identity} exited ${code ?? signal}`));
    const first = await eventually('a leader', holder, (h) => h !== undefined, 60_000);
    expect(first).toMatch(/^op-/);

    const base = { apiVersion: `${CRONTASK.group}/${CRONTASK.version}`, kind: CRONTASK.kind };
    const ref = { group: CRONTASK.group, version: CRONTASK.version, plural: CRONTASK.plural, namespace };
    await custom.createNamespacedCustomObject({
      ...ref,
      body: { ...base, metadata: { name: 'tick' }, spec: { schedule: '* * * * * *', target: { url }, concurrencyPolicy: 'Forbid', startingDeadlineSeconds: DEADLINE_SECONDS, successfulRunsHistoryLimit: 5 } },
    });
    // Bad input in the same namespace must not disturb anything: reported in status, never a crash loop.
    await custom.createNamespacedCustomObject({ ...ref, body: { ...base, metadata: { name: 'broken' }, spec: { schedule: '0 0 31 2 *', timeZone: 'Mars/Olympus', target: { url } } } });

    const fired = async (): Promise<number> => Number((await pool.query<{ n: string }>('select count(*) as n from fires')).rows[0]?.n ?? 0);
    await eventually('first fire', fired, (n) => n > 0, 30_000);
    const windowStart = Date.now();
    const kills: Array<{ at: number; who: string }> = [];
    // A fixed number of leader kills, each at least KILL_EVERY_MS after the previous one. Counted, not
    // timed: on a busy machine a kill waits for a leader to exist (after the previous kill the standby
    // takes over once the lease expires), so the window stretches instead of the kills thinning out.
    const KILLS = Math.max(1, Math.floor(SOAK_MS / KILL_EVERY_MS) - 1);
    let nextKill = windowStart + KILL_EVERY_MS;
    while (kills.length < KILLS) {
      await new Promise((r) => setTimeout(r, Math.max(0, nextKill - Date.now())));
      if (Date.now() - windowStart > 4 * SOAK_MS) throw new Error(`only ${kills.length} of ${KILLS} leader kills: no leader to kill for too long; kills ${JSON.stringify(kills)}; operator logs in ${logDir}`);
      const who = await holder();
      const child = who ? replicas.get(who) : undefined;
      if (!who || !child) {
        nextKill = Date.now() + 500; // no leader right now: look again shortly
        continue;
      }
      child.kill('SIGKILL');
      replicas.delete(who);
      kills.push({ at: Date.now(), who });
      nextKill = Date.now() + KILL_EVERY_MS;
      const fresh = await startReplica();
      replicas.get(fresh)?.on('exit', (code, signal) => signal !== 'SIGKILL' && crashed.push(`${fresh} exited ${code ?? signal}`));
    }
    const windowEnd = new Date(Math.floor(Date.now() / 1000) * 1000);
    // Let the last leader catch up to the end of the window.
    await eventually('caught up', async () => (await pool.query<{ t: Date | null }>('select max(tick) as t from fires')).rows[0]?.t?.getTime() ?? 0, (t) => t >= windowEnd.getTime(), 60_000).catch(
      (error: unknown) => {
        throw new Error(`${String(error)}; kills ${JSON.stringify(kills)}; operator logs in ${logDir}`);
      },
    );

    const rows = (await pool.query<{ tick: Date; fencing_token: string }>('select tick, fencing_token from fires where tick <= $1 order by tick', [windowEnd])).rows;
    const duplicates = (await pool.query('select * from duplicates')).rows;
    const replays = (await pool.query<{ tick: Date }>('select tick from replays')).rows;
    const calls = (await pool.query<{ started_ms: string; ended_ms: string }>('select started_ms, ended_ms from calls order by started_ms')).rows;
    const task = (await custom.getNamespacedCustomObject({ ...ref, name: 'tick' })) as CronTask;
    const broken = (await custom.getNamespacedCustomObject({ ...ref, name: 'broken' })) as CronTask;
    const summary = { kills: kills.length, ticks: rows.length, replays: replays.length, duplicates: duplicates.length, missed: task.status?.missedTicks, logs: logDir };
    process.stderr.write(`cron soak: ${JSON.stringify(summary)}\n`);

    expect(kills.length).toBe(KILLS);
    expect(duplicates).toEqual([]);
    // Every second from the first tick to the end of the window, exactly once.
    const firstTick = rows[0]?.tick.getTime() ?? 0;
    const expected = (windowEnd.getTime() - firstTick) / 1000 + 1;
    const gaps = [];
    for (let i = 1; i < rows.length; i++) {
      const d = (rows[i]?.tick.getTime() ?? 0) - (rows[i - 1]?.tick.getTime() ?? 0);
      if (d !== 1000) gaps.push(`${rows[i - 1]?.tick.toISOString()} → ${rows[i]?.tick.toISOString()}`);
    }
    expect(gaps).toEqual([]);
    expect(rows).toHaveLength(expected);
    expect(task.status?.missedTicks ?? 0).toBe(0);
    // Forbid: no two calls overlap (replays included).
    const overlaps = calls.filter((c, i) => i > 0 && Number(c.started_ms) < Number(calls[i - 1]?.ended_ms));
    expect(overlaps).toEqual([]);
    // Fencing: tokens never go back, and the kills show up as new terms.
    const terms = rows.map((r) => Number(r.fencing_token.split('/')[0]));
    expect(terms.every((t, i) => i === 0 || t >= (terms[i - 1] ?? 0))).toBe(true);
    expect(new Set(terms).size).toBeGreaterThanOrEqual(kills.length);
    // Bad input reported, and no replica ever exited on its own.
    expect(broken.status?.conditions?.[0]).toEqual(expect.objectContaining({ status: 'False', reason: 'InvalidSchedule' }));
    expect(crashed).toEqual([]);
    for (const [identity, child] of replicas) expect([identity, child.exitCode]).toEqual([identity, null]);
  }, 5 * 60_000 + SOAK_MS);
});
