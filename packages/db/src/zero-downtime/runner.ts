/**
 * Runs the steps of zero-downtime changes against a schema. Each step takes
 * the change's session advisory lock on a dedicated connection (a second
 * runner is refused with DB_ZDM_BUSY; a killed runner's lock goes with its
 * connection), reads the state again under it, and records the new state in
 * the same transaction as the work, so a crash leaves either the old state or
 * the new one. DDL runs with a short lock_timeout and is retried, so a long
 * query never queues every writer behind the migration's lock.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { backoffDelay } from '@bulwark/service-kit/backoff';
import { sqlStateOf } from '../errors.ts';
import { poolInternals, type DbClient } from '../pool.ts';
import { withSystemContext } from '../system-context.ts';
import { changeId, defineChanges, type ZeroDowntimeChange } from './change.ts';
import { ZeroDowntimeError } from './errors.ts';
import { assertOldShapeUnused, assertStep, nextStep, planRollback, type ChangeState, type ChangeStep, type LiveInstance } from './plan.ts';
import { ensureZeroDowntimeTables, readChangeRow, readChangeRows, readLiveInstances, schemaOf, writeChangeState, type ChangeRow, type ZeroDowntimeTarget } from './store.ts';

export interface ChangesTarget extends ZeroDowntimeTarget {
  changes: readonly ZeroDowntimeChange[];
}

export interface StepOptions {
  /** Only this change (its version); default every change whose next step this is, in version order. */
  version?: number;
  /** lock_timeout of each DDL attempt; default 2 s. */
  lockTimeoutMs?: number;
  /** DDL attempts before giving up on the lock; default 20. */
  lockAttempts?: number;
}

export interface BackfillOptions extends StepOptions {
  /** Keys per batch (one transaction each); default 1,000. */
  batchSize?: number;
  /** Pause after each batch, the throttle; default 50 ms. */
  pauseMs?: number;
  /** Stops after the current batch (the cursor is kept; run backfill again to resume). */
  signal?: AbortSignal;
  onBatch?: (progress: BackfillProgress) => void;
}

export interface BackfillProgress {
  change: string;
  cursor: string;
  rowsDone: number;
  batches: number;
  /** Rows the batch statement changed. */
  changed: number;
}

export interface BackfillResult {
  change: string;
  outcome: 'done' | 'paused' | 'aborted';
  /** Cursor the run resumed from (null: from the start). */
  resumedFrom: string | null;
  /** Last key done (null: none). */
  cursor: string | null;
  rowsDone: number;
  batches: number;
}

export interface ChangeStatus {
  version: number;
  name: string;
  id: string;
  state: ChangeState;
  next: ChangeStep | undefined;
  compatibleWithPrevious: boolean;
  rowsDone: number;
  batches: number;
  cursor: string | null;
  paused: boolean;
}

const CHANGE_LOCK = 0x42777a63; // 'Bwzc'
const REASON = 'zero-downtime-migration';
const DDL_RETRY = { baseMs: 50, capMs: 2_000, jitter: 'equal' } as const;
const BATCH_RETRYABLE = new Set(['40001', '40P01', '55P03']);

function stateOf(row: ChangeRow | undefined): ChangeState {
  return row?.state ?? 'pending';
}

/** Every change with its recorded state and backfill progress, and its next step. */
export async function changeStatus(target: ChangesTarget): Promise<ChangeStatus[]> {
  await ensureZeroDowntimeTables(target);
  const rows = await readChangeRows(target.pool, target);
  return defineChanges(target.changes).map((c) => {
    const row = rows.get(c.version);
    const state = stateOf(row);
    let next = nextStep(state);
    if (next === 'backfill' && !c.backfill) next = 'verify';
    if (next === 'verify' && !c.verify) next = 'contract';
    return { version: c.version, name: c.name, id: changeId(c), state, next, compatibleWithPrevious: c.compatibleWithPrevious, rowsDone: row?.rowsDone ?? 0, batches: row?.batches ?? 0, cursor: row?.cursor ?? null, paused: row?.paused ?? false };
  });
}

/** Instances heartbeating within their TTL, with the schema version each registered. */
export async function liveInstances(target: ZeroDowntimeTarget): Promise<LiveInstance[]> {
  await ensureZeroDowntimeTables(target);
  return readLiveInstances(target.pool, target);
}

/** The changes a step applies to: the one asked for (checked), or every change whose next step it is. */
async function selectChanges(target: ChangesTarget, step: ChangeStep, version: number | undefined): Promise<ZeroDowntimeChange[]> {
  const status = await changeStatus(target);
  const changes = defineChanges(target.changes);
  if (version !== undefined) {
    const change = changes.find((c) => c.version === version);
    if (!change) throw new ZeroDowntimeError('DB_ZDM_STEP_ORDER', `no change has version ${version}`, { version });
    assertStep(change, status.find((s) => s.version === version)!.state, step);
    return [change];
  }
  return changes.filter((c) => status.find((s) => s.version === c.version)!.next === step);
}

/** Holds the change's session advisory lock on a dedicated connection while `fn` runs; the connection is discarded after. */
async function withChangeLock<T>(target: ChangesTarget, change: ZeroDowntimeChange, fn: (client: DbClient) => Promise<T>): Promise<T> {
  const { schema } = schemaOf(target);
  const client = await target.pool.connect();
  const values = [CHANGE_LOCK, `${schema}.${change.version}`];
  let locked = false;
  try {
    const { rows } = await client.query<{ ok: boolean }>({ name: 'zdm.lock', text: 'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', values });
    locked = rows[0]?.ok === true;
    if (!locked) throw new ZeroDowntimeError('DB_ZDM_BUSY', `another runner holds change ${changeId(change)} of schema ${schema}`, { change: changeId(change) });
    return await fn(client);
  } finally {
    // Unlocked explicitly: the connection's close is asynchronous, and the next step may ask for the lock at once.
    if (locked) await client.query({ name: 'zdm.unlock', text: 'SELECT pg_advisory_unlock($1, hashtext($2))', values }).catch(() => undefined);
    client.release(true); // never hand a session that held the lock back to the pool
  }
}

/**
 * Runs `work` in one transaction with the schema's search_path and a short
 * lock_timeout, retrying when the lock is not granted in time (55P03): the
 * DDL waits for the table's lock without making every writer queue behind it
 * for long.
 */
async function inDdlTransaction(client: DbClient, target: ChangesTarget, options: StepOptions, work: () => Promise<void>): Promise<void> {
  const { searchPath } = schemaOf(target);
  const attempts = options.lockAttempts ?? 20;
  for (let attempt = 1; ; attempt++) {
    await client.query('BEGIN');
    try {
      await client.query(`SET LOCAL search_path TO ${searchPath}`);
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.trunc(options.lockTimeoutMs ?? 2_000))}`);
      await work();
      await client.query('COMMIT');
      return;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (sqlStateOf(err) !== '55P03' || attempt >= attempts) throw err;
      poolInternals(target.pool).log.warn({ attempt, pool: poolInternals(target.pool).name }, 'zero-downtime DDL did not get its lock in time; retrying');
      await delay(backoffDelay(attempt, DDL_RETRY));
    }
  }
}

/** Expand: the additive DDL and the dual-write triggers. A change not compatible with the previous release waits until no live instance needs the old shape. */
export async function expand(target: ChangesTarget, options: StepOptions = {}): Promise<string[]> {
  const done: string[] = [];
  for (const change of await selectChanges(target, 'expand', options.version)) {
    await withSystemContext(target.pool, REASON, () =>
      withChangeLock(target, change, async (client) => {
        assertStep(change, stateOf(await readChangeRow(client, target, change.version)), 'expand');
        await inDdlTransaction(client, target, options, async () => {
          if (!change.compatibleWithPrevious) assertOldShapeUnused(change, 'expand', await readLiveInstances(client, target));
          await client.query({ name: 'zdm.expand', text: change.expand.sql });
          await writeChangeState(client, target, change, 'expanded', true);
        });
      }),
    );
    poolInternals(target.pool).log.info({ change: changeId(change) }, 'zero-downtime change expanded');
    done.push(changeId(change));
  }
  return done;
}

/** Marks the running backfill of a change (or of every backfilling change) to stop after its current batch. */
export async function pauseBackfill(target: ChangesTarget, options: { version?: number } = {}): Promise<string[]> {
  await ensureZeroDowntimeTables(target);
  const { rows } = await target.pool.query<{ version: number; name: string }>({
    name: 'zdm.pause',
    text: `UPDATE ${schemaOf(target).q('zd_changes')} SET paused = true, updated_at = now()
      WHERE state IN ('expanded', 'backfilling') AND ($1::int IS NULL OR version = $1) RETURNING version, name`,
    values: [options.version ?? null],
  });
  return rows.map((r) => changeId(r));
}

async function backfillOne(client: DbClient, target: ChangesTarget, change: ZeroDowntimeChange, options: BackfillOptions): Promise<BackfillResult> {
  const spec = change.backfill!;
  const { q, searchPath } = schemaOf(target);
  const id = changeId(change);
  const batchSize = Math.max(1, Math.trunc(options.batchSize ?? 1_000));
  const pauseMs = Math.max(0, options.pauseMs ?? 50);
  const keyType = spec.keyType ?? 'bigint';
  const start = await readChangeRow(client, target, change.version);
  assertStep(change, stateOf(start), 'backfill');
  // Running backfill again is how a paused one resumes.
  await client.query({ name: 'zdm.unpause', text: `UPDATE ${q('zd_changes')} SET paused = false WHERE version = $1`, values: [change.version] });
  let cursor = start?.cursor ?? null;
  let rowsDone = start?.rowsDone ?? 0;
  let batches = start?.batches ?? 0;
  const resumedFrom = cursor;
  const table = `${q(spec.table)}`;
  const key = `${spec.key}`;
  for (let attempt = 0; ; ) {
    if (options.signal?.aborted) return { change: id, outcome: 'aborted', resumedFrom, cursor, rowsDone, batches };
    let last: { first: string | null; last: string | null; n: number } | undefined;
    let changed = 0;
    let paused: boolean;
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL search_path TO ${searchPath}`);
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.trunc(options.lockTimeoutMs ?? 2_000))}`);
      const range = await client.query<{ first: string | null; last: string | null; n: number }>({
        name: cursor === null ? 'zdm.backfill-range-first' : 'zdm.backfill-range',
        text: `SELECT min(k)::text AS first, max(k)::text AS last, count(*)::int AS n
          FROM (SELECT ${key} AS k FROM ${table}${cursor === null ? '' : ` WHERE ${key} > $2::${keyType}`} ORDER BY ${key} LIMIT $1) s`,
        values: cursor === null ? [batchSize] : [batchSize, cursor],
      });
      last = range.rows[0]!;
      if (last.n > 0) {
        const result = await client.query({ name: 'zdm.backfill-batch', text: spec.sql, values: [last.first, last.last] });
        changed = result.rowCount ?? 0;
      }
      const progress = await client.query<{ paused: boolean }>({
        name: 'zdm.backfill-progress',
        text: `UPDATE ${q('zd_changes')} SET state = $2, cursor = COALESCE($3, cursor), rows_done = rows_done + $4, batches = batches + $5, updated_at = now()
          WHERE version = $1 RETURNING paused`,
        values: [change.version, last.n < batchSize ? 'backfilled' : 'backfilling', last.last, last.n, last.n > 0 ? 1 : 0],
      });
      paused = progress.rows[0]?.paused ?? false;
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (!BATCH_RETRYABLE.has(sqlStateOf(err) ?? '') || ++attempt > 10) throw err;
      await delay(backoffDelay(attempt, DDL_RETRY));
      continue;
    }
    attempt = 0;
    if (last.n > 0) {
      cursor = last.last;
      rowsDone += last.n;
      batches += 1;
      options.onBatch?.({ change: id, cursor: cursor!, rowsDone, batches, changed });
    }
    if (last.n < batchSize) return { change: id, outcome: 'done', resumedFrom, cursor, rowsDone, batches };
    if (paused) return { change: id, outcome: 'paused', resumedFrom, cursor, rowsDone, batches };
    if (pauseMs > 0) await delay(pauseMs);
  }
}

/**
 * Backfill: copies existing rows into the new shape in keyset batches of
 * `batchSize`, one transaction each that also moves the cursor, pausing
 * `pauseMs` between batches. Resumes from the recorded cursor; stops early
 * when paused (pauseBackfill) or aborted. Deadlocks and lock timeouts retry
 * the batch.
 */
export async function backfill(target: ChangesTarget, options: BackfillOptions = {}): Promise<BackfillResult[]> {
  const results: BackfillResult[] = [];
  for (const change of await selectChanges(target, 'backfill', options.version)) {
    const result = await withSystemContext(target.pool, REASON, () => withChangeLock(target, change, (client) => backfillOne(client, target, change, options)));
    poolInternals(target.pool).log.info({ ...result }, 'zero-downtime backfill run ended');
    results.push(result);
    if (result.outcome !== 'done') break;
  }
  return results;
}

async function countDisagreements(client: DbClient, change: ZeroDowntimeChange): Promise<number> {
  const { rows } = await client.query<{ disagreements: string | number }>({ name: 'zdm.verify', text: change.verify! });
  return Number(rows[0]?.disagreements ?? NaN);
}

/**
 * Verify: counts the rows where old and new shapes disagree, on one
 * snapshot; 0 moves the change to verified, anything else refuses with the
 * count (DB_ZDM_DISAGREEMENT).
 */
export async function verify(target: ChangesTarget, options: StepOptions = {}): Promise<{ change: string; disagreements: number }[]> {
  const results: { change: string; disagreements: number }[] = [];
  for (const change of await selectChanges(target, 'verify', options.version)) {
    const disagreements = await withSystemContext(target.pool, REASON, () =>
      withChangeLock(target, change, async (client) => {
        assertStep(change, stateOf(await readChangeRow(client, target, change.version)), 'verify');
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        try {
          await client.query(`SET LOCAL search_path TO ${schemaOf(target).searchPath}`);
          const count = await countDisagreements(client, change);
          if (count === 0) await writeChangeState(client, target, change, 'verified');
          await client.query('COMMIT');
          return count;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }),
    );
    if (disagreements !== 0) {
      throw new ZeroDowntimeError('DB_ZDM_DISAGREEMENT', `change ${changeId(change)}: ${disagreements} rows disagree between the old and new shapes`, { change: changeId(change), disagreements });
    }
    results.push({ change: changeId(change), disagreements });
  }
  return results;
}

/**
 * Contract: drops the old shape, one-way. Refused while a live instance
 * registered a schema version below the change's, and checked again inside
 * its transaction: the disagreement count must still be 0.
 */
export async function contract(target: ChangesTarget, options: StepOptions = {}): Promise<string[]> {
  const done: string[] = [];
  for (const change of await selectChanges(target, 'contract', options.version)) {
    await withSystemContext(target.pool, REASON, () =>
      withChangeLock(target, change, async (client) => {
        assertStep(change, stateOf(await readChangeRow(client, target, change.version)), 'contract');
        await inDdlTransaction(client, target, options, async () => {
          assertOldShapeUnused(change, 'contract', await readLiveInstances(client, target));
          if (change.verify) {
            const disagreements = await countDisagreements(client, change);
            if (disagreements !== 0) {
              throw new ZeroDowntimeError('DB_ZDM_DISAGREEMENT', `contract of ${changeId(change)} refused: ${disagreements} rows disagree between the old and new shapes`, { change: changeId(change), disagreements });
            }
          }
          await client.query({ name: 'zdm.contract', text: change.contract.sql });
          await writeChangeState(client, target, change, 'contracted');
        });
      }),
    );
    poolInternals(target.pool).log.info({ change: changeId(change) }, 'zero-downtime change contracted');
    done.push(changeId(change));
  }
  return done;
}

/**
 * Rolls back the last step of one change (`version`, default the latest
 * change that is not pending): verify and backfill move the state back,
 * expand runs its `down` SQL (refused while a live instance uses the new
 * shape), contract is refused as one-way (DB_ZDM_IRREVERSIBLE).
 */
export async function rollback(target: ChangesTarget, options: StepOptions = {}): Promise<{ change: string; from: ChangeState; to: ChangeState }> {
  const status = await changeStatus(target);
  const changes = defineChanges(target.changes);
  const version = options.version ?? [...status].reverse().find((s) => s.state !== 'pending')?.version;
  const change = changes.find((c) => c.version === version);
  if (!change) throw new ZeroDowntimeError('DB_ZDM_STEP_ORDER', version === undefined ? 'every change is pending: nothing to roll back' : `no change has version ${version}`, { version });
  return withSystemContext(target.pool, REASON, () =>
    withChangeLock(target, change, async (client) => {
      const from = stateOf(await readChangeRow(client, target, change.version));
      const action = planRollback(change, from, await readLiveInstances(client, target));
      await inDdlTransaction(client, target, options, async () => {
        if (action.kind === 'down') {
          await client.query({ name: 'zdm.expand-down', text: change.expand.down });
          await writeChangeState(client, target, change, 'pending', true);
        } else {
          await writeChangeState(client, target, change, action.to, action.resetProgress);
        }
      });
      poolInternals(target.pool).log.info({ change: changeId(change), from, to: action.to }, 'zero-downtime step rolled back');
      return { change: changeId(change), from, to: action.to };
    }),
  );
}

/**
 * Runs the previous release's statements (declared on the change) against
 * the current schema, each in a transaction that is rolled back: the
 * compatibility a change declares, checked. Returns one entry per statement.
 */
export async function checkPreviousRelease(target: ChangesTarget, change: ZeroDowntimeChange): Promise<{ name: string; error?: string }[]> {
  const results: { name: string; error?: string }[] = [];
  for (const statement of change.previousRelease ?? []) {
    const error = await withSystemContext(target.pool, REASON, () =>
      target.pool.withClient(async (client) => {
        await client.query('BEGIN');
        try {
          await client.query(`SET LOCAL search_path TO ${schemaOf(target).searchPath}`);
          await client.query({ name: 'zdm.previous-release', text: statement.text, values: [...(statement.values ?? [])] });
          return undefined;
        } catch (err) {
          return err instanceof Error ? err.message : String(err);
        } finally {
          await client.query('ROLLBACK').catch(() => undefined);
        }
      }),
    );
    results.push(error === undefined ? { name: statement.name } : { name: statement.name, error });
  }
  return results;
}
