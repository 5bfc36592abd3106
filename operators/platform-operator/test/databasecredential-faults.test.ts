/**
 * DatabaseCredential when the operator dies: two operator processes
 * (src/main.ts, as the Deployment runs it) with a rotation every 2 seconds;
 * the leader is killed with SIGKILL while rotations run, the other
 * takes over and keeps rotating, and four loops opening a new connection
 * per query through the projected Secret see no failure. Afterwards the
 * Secret's credentials log in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { pgUrl } from '@bulwark/test-support';
import { type CredentialFixture, setupCredentialFixture } from './databasecredential-fixture.ts';
import { CLUSTER_START_MS, eventually } from './helpers.ts';
import { type OperatorProcess, spawnOperator } from './operator-process.ts';

const timings = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 };
const logDir = mkdtempSync(join(tmpdir(), 'dbcred-faults-'));
let fx: CredentialFixture;
const processes: OperatorProcess[] = [];

beforeAll(async () => {
  fx = await setupCredentialFixture();
}, CLUSTER_START_MS);

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await fx?.cleanup();
  rmSync(logDir, { recursive: true, force: true });
});

describe('DatabaseCredential with the operator killed', () => {
  it('when the leading operator is killed -9 while it rotates every 2 s, then the other takes over, rotations go on, and no query fails', async () => {
    for (const podName of ['op-a', 'op-b']) processes.push(await spawnOperator({ namespace: fx.namespace, podName, logDir, timings, env: { LOG_LEVEL: 'info' } }));
    await fx.create({ rotationIntervalSeconds: 2, minFlipIntervalSeconds: 1 });
    await eventually('bootstrapped', fx.read, (c) => c.status?.activeRole !== undefined, 60_000);
    const load = await fx.startLoad(4);
    try {
      await eventually('two rotations', fx.read, (c) => (c.status?.rotations ?? 0) >= 2, 60_000);
      const leader = await eventually('a leader', async () => {
        for (const p of processes) if (await p.leads()) return p;
        return undefined;
      }, (p) => p !== undefined, 30_000);
      const rotationsAtKill = (await fx.read()).status?.rotations ?? 0;
      leader!.child.kill('SIGKILL');
      await eventually('rotations after the kill', fx.read, (c) => (c.status?.rotations ?? 0) >= rotationsAtKill + 3, 90_000);
      const survivor = processes.find((p) => p !== leader)!;
      expect(await survivor.leads()).toBe(true);
    } finally {
      await load.stop();
    }
    expect(load.failures).toEqual([]);
    expect(load.users.length).toBeGreaterThanOrEqual(5);
    const { username, password } = (await fx.secret())!;
    const url = new URL(pgUrl());
    url.username = username;
    url.password = password;
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    await c.end();
  }, 240_000);
});
