/**
 * Zero-downtime changes against the real PostgreSQL: the whole rename + split
 * under load through a real HTTP service (v1 and v2 side by side), a backfill
 * killed with SIGKILL that resumes from its committed cursor, pause and
 * resume, the heartbeat guard, verification that catches disagreement, and
 * rollback of each step (with contract refused as one-way).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ZeroDowntimeError, registerSchemaVersion, zeroDowntime, type ZeroDowntimeChange } from '../src/index.ts';
import { BASELINE_SQL, changes, seedSql } from './fixtures/customers-changes.ts';
import { runZeroDowntimeScenario } from './fixtures/zero-downtime-scenario.ts';
import { admin, pgUrl, testPool, uniqueName, waitFor, type TestPool } from './support.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHANGES_MODULE = fileURLToPath(new URL('./fixtures/customers-changes.ts', import.meta.url));

let schema: string;
let owner: TestPool;
const target = () => ({ pool: owner, schema, changes });

async function seeded(rows: number): Promise<void> {
  await owner.query(`CREATE SCHEMA "${schema}"`);
  await owner.query(BASELINE_SQL);
  await owner.query(seedSql(rows));
}

async function columns(table: string): Promise<string[]> {
  const { rows } = await owner.query<{ column_name: string }>({
    text: 'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
    values: [schema, table],
  });
  return rows.map((r) => r.column_name);
}

async function refusal(promise: Promise<unknown>): Promise<ZeroDowntimeError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ZeroDowntimeError);
  return err as ZeroDowntimeError;
}

beforeEach(() => {
  schema = uniqueName('zdm');
  owner = testPool({ searchPath: [schema], max: 4 });
});

afterEach(async () => {
  await owner.close();
  await admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});

describe('zero-downtime changes under load', () => {
  it('when a column is renamed and a table split on 20,000 rows while v1 then v1 + v2 serve a load, then no request fails and no row is lost or wrong', async () => {
    const result = await runZeroDowntimeScenario({ url: pgUrl(), schema: uniqueName('zdm_load'), rows: 20_000, workers: 6, batchSize: 500, pauseMs: 5, phaseRequests: 300 });
    const p99 = (phase: string) => result.phases[phase]!.p99.toFixed(1);
    console.log(
      `zero-downtime 20,000 rows: ${result.requests} requests, p99 baseline ${p99('baseline')} ms, during backfill ${p99('backfill')} ms (${result.phases.backfill!.count} requests, ${result.backfillBatches} batches in ${result.backfillMs.toFixed(0)} ms), side by side ${p99('side by side')} ms, after contract ${p99('after')} ms`,
    );
    expect(result.failures).toEqual([]);
    expect(result.lostRows).toBe(0);
    expect(result.wrongRows).toEqual([]);
    expect(result.previousRelease.filter((r) => r.error)).toEqual([]);
    expect(result.previousRelease).toHaveLength(6);
    expect(result.contractRefusal).toBe('DB_ZDM_OLD_VERSION_LIVE');
    expect(result.phases.backfill!.count).toBeGreaterThan(0);
  }, 300_000);
});

describe('backfill', () => {
  it('when the backfill command is killed with SIGKILL mid-run, then its committed cursor survives and the next run resumes there without counting a row twice', async () => {
    await seeded(20_000);
    await zeroDowntime.expand(target(), { version: 2 });
    const child = spawn(
      process.execPath,
      ['--conditions=bulwark-source', '--no-warnings', 'scripts/migrate.ts', 'customers', 'backfill', '--change', '2', '--changes', CHANGES_MODULE, '--schema', schema, '--url', pgUrl(), '--batch-size', '200', '--pause-ms', '20'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`backfill exited early: ${output}`);
        const [s] = await zeroDowntime.changeStatus(target());
        return s!.rowsDone >= 2_000;
      }, 'the backfill to pass 2,000 rows', 120_000);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const [killed] = await zeroDowntime.changeStatus(target());
    expect(killed).toMatchObject({ state: 'backfilling' });
    expect(killed!.rowsDone).toBeLessThan(20_000);
    // Every key up to the cursor was copied in the batches that moved it.
    const { rows: behind } = await owner.query<{ n: string }>({ text: 'SELECT count(*) AS n FROM customers WHERE id <= $1 AND contact_email IS DISTINCT FROM email', values: [killed!.cursor] });
    expect(Number(behind[0]!.n)).toBe(0);
    expect(Number(killed!.cursor)).toBe(killed!.rowsDone);

    const [resumed] = await zeroDowntime.backfill(target(), { version: 2, batchSize: 1_000, pauseMs: 0 });
    expect(resumed).toMatchObject({ outcome: 'done', resumedFrom: killed!.cursor, rowsDone: 20_000 });
    expect(await zeroDowntime.verify(target(), { version: 2 })).toEqual([{ change: '0002_rename_customers_email', disagreements: 0 }]);
  }, 180_000);

  it('when a running backfill is paused, then it stops after its batch with the pause recorded, and running it again resumes to the end', async () => {
    await seeded(5_000);
    await zeroDowntime.expand(target());
    let paused = false;
    const [first] = await zeroDowntime.backfill(target(), {
      batchSize: 100,
      pauseMs: 0,
      onBatch: (p) => {
        if (p.batches === 3 && !paused) {
          paused = true;
          void zeroDowntime.pauseBackfill(target());
        }
      },
    });
    expect(first).toMatchObject({ change: '0002_rename_customers_email', outcome: 'paused' });
    expect(first!.rowsDone).toBeLessThan(5_000);
    const statuses = await zeroDowntime.changeStatus(target());
    expect(statuses[0]).toMatchObject({ state: 'backfilling', paused: true });

    const again = await zeroDowntime.backfill(target(), { batchSize: 1_000, pauseMs: 0 });
    expect(again.map((r) => [r.change, r.outcome, r.rowsDone])).toEqual([
      ['0002_rename_customers_email', 'done', 5_000],
      ['0003_split_customer_addresses', 'done', 5_000],
    ]);
    expect(again[0]!.resumedFrom).toBe(first!.cursor);
    expect(first!.cursor).toBe(String(first!.rowsDone));
  });
});

describe('verify and the contract guard', () => {
  it('when a row disagrees (a write that bypassed the triggers), then verify refuses with the count and contract is not reachable', async () => {
    await seeded(1_000);
    await zeroDowntime.expand(target(), { version: 2 });
    await zeroDowntime.backfill(target(), { version: 2, pauseMs: 0 });
    await owner.query('ALTER TABLE customers DISABLE TRIGGER customers_email_sync; UPDATE customers SET email = $$x@example.test$$ WHERE id <= 3; ALTER TABLE customers ENABLE TRIGGER customers_email_sync');
    const err = await refusal(zeroDowntime.verify(target(), { version: 2 }));
    expect(err).toMatchObject({ code: 'DB_ZDM_DISAGREEMENT', details: { disagreements: 3 } });
    expect((await refusal(zeroDowntime.contract(target(), { version: 2 }))).code).toBe('DB_ZDM_STEP_ORDER');
  });

  it('when an instance needing the old shape stops heartbeating (killed), then contract is refused until its TTL passes, then runs', async () => {
    await seeded(1_000);
    await zeroDowntime.expand(target(), { version: 2 });
    await zeroDowntime.backfill(target(), { version: 2, pauseMs: 0 });
    await zeroDowntime.verify(target(), { version: 2 });
    // A v1 instance that registered and was then killed: its row stays, no longer refreshed.
    await owner.query({ text: `INSERT INTO zd_instances (instance_id, app, schema_version, ttl_ms) VALUES ('killed-v1', 'customers', 1, 1500)` });
    const err = await refusal(zeroDowntime.contract(target(), { version: 2 }));
    expect(err.code).toBe('DB_ZDM_OLD_VERSION_LIVE');
    expect(err.message).toContain('customers/killed-v1 (v1)');
    expect(await columns('customers')).toContain('email');

    await waitFor(async () => (await zeroDowntime.liveInstances(target())).length === 0, 'the killed instance to expire', 30_000);
    expect(await zeroDowntime.contract(target(), { version: 2 })).toEqual(['0002_rename_customers_email']);
    expect(await columns('customers')).toEqual(['id', 'name', 'street', 'city', 'contact_email']);
  });

  it('when a change is not compatible with the previous release, then its expand waits until no old instance is live', async () => {
    await seeded(10);
    const incompatible: ZeroDowntimeChange = { ...changes[0]!, compatibleWithPrevious: false };
    const t = { pool: owner, schema, changes: [incompatible] };
    const v1 = await registerSchemaVersion({ pool: owner, schema, app: 'customers', schemaVersion: 1 });
    try {
      expect((await refusal(zeroDowntime.expand(t))).code).toBe('DB_ZDM_OLD_VERSION_LIVE');
    } finally {
      await v1.stop();
    }
    expect(await zeroDowntime.expand(t)).toEqual(['0002_rename_customers_email']);
  });
});

describe('rollback', () => {
  it('when each step is rolled back in turn, then verify, backfill and expand undo and the table is as before', async () => {
    await seeded(1_000);
    const before = await columns('customers');
    await zeroDowntime.expand(target());
    await zeroDowntime.backfill(target(), { pauseMs: 0 });
    await zeroDowntime.verify(target());

    expect(await zeroDowntime.rollback(target())).toEqual({ change: '0003_split_customer_addresses', from: 'verified', to: 'backfilled' });
    expect(await zeroDowntime.rollback(target())).toEqual({ change: '0003_split_customer_addresses', from: 'backfilled', to: 'expanded' });
    const v2 = await registerSchemaVersion({ pool: owner, schema, app: 'customers', schemaVersion: 3 });
    try {
      expect((await refusal(zeroDowntime.rollback(target()))).code).toBe('DB_ZDM_NEW_VERSION_LIVE');
    } finally {
      await v2.stop();
    }
    expect(await zeroDowntime.rollback(target())).toEqual({ change: '0003_split_customer_addresses', from: 'expanded', to: 'pending' });
    expect(await columns('customer_addresses')).toEqual([]);
    expect(await zeroDowntime.rollback(target(), { version: 2 })).toEqual({ change: '0002_rename_customers_email', from: 'verified', to: 'backfilled' });
    await zeroDowntime.rollback(target(), { version: 2 });
    await zeroDowntime.rollback(target(), { version: 2 });
    expect(await columns('customers')).toEqual(before);
    expect((await zeroDowntime.changeStatus(target())).map((s) => s.state)).toEqual(['pending', 'pending']);
  });

  it('when a contracted change is rolled back, then it is refused as one-way and nothing changes', async () => {
    await seeded(100);
    await zeroDowntime.expand(target(), { version: 2 });
    await zeroDowntime.backfill(target(), { version: 2, pauseMs: 0 });
    await zeroDowntime.verify(target(), { version: 2 });
    await zeroDowntime.contract(target(), { version: 2 });
    const err = await refusal(zeroDowntime.rollback(target()));
    expect(err.code).toBe('DB_ZDM_IRREVERSIBLE');
    expect(err.message).toMatch(/contract is one-way.*fix forward/);
    expect((await zeroDowntime.changeStatus(target()))[0]!.state).toBe('contracted');
  });

  it('when the migrate command is asked to roll back a contracted change, then it exits 3 naming the refusal', async () => {
    await seeded(10);
    await zeroDowntime.expand(target(), { version: 2 });
    await zeroDowntime.backfill(target(), { version: 2, pauseMs: 0 });
    await zeroDowntime.verify(target(), { version: 2 });
    await zeroDowntime.contract(target(), { version: 2 });
    const child = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', 'scripts/migrate.ts', 'customers', 'rollback', '--changes', CHANGES_MODULE, '--schema', schema, '--url', pgUrl()], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(3);
    expect(stderr).toMatch(/refused \(DB_ZDM_IRREVERSIBLE\): change 0002_rename_customers_email cannot roll back: contract is one-way/);
  });
});
