/**
 * Rebuilding a projection without downtime: replay the whole global log from
 * position 0 into fresh shadow tables (`<table>_rebuild`, created LIKE the
 * live ones) while the live projector and the API keep running on the old
 * tables; then, in one transaction holding the projection's advisory lock
 * (the live projector waits), apply the last events, rename old → `_old`,
 * shadow → live, drop the old tables and set the checkpoint to the shadow's
 * position. Readers block for the moment of the rename and never see a
 * missing or half-built table.
 *
 * Events the projection cannot apply are parked as the live projector parks
 * them (parking.ts) and listed in the result; the rebuild goes on. At the
 * swap, parked rows of events the replay did apply (the code or the rules
 * were fixed since) are forgotten: a rebuild is how parked events are
 * replayed.
 *
 * `LIKE … INCLUDING ALL` copies columns, defaults, checks and indexes but not
 * row-level security nor privileges: the shadow table gets the live table's
 * (copySecurity) before it is filled, so the swapped-in table is as closed
 * to tenants as the one it replaces. The rebuild creates and renames tables,
 * which the runtime role may not: it runs on the owner's pool, in the system
 * context (the tables FORCE row-level security, the owner included).
 */
import pg from 'pg';
import { withSystemContext, withTransaction, type DbLogger, type DbPool, type Queryable } from '@bulwark/db';
import { readGlobalLog, START, type GlobalPosition } from '../store/global-log.ts';
import { forgetParkedEventsExcept, type ParkedEvent } from '../store/parked-events.ts';
import { applyOrPark, type Parked } from './parking.ts';
import { lockKey, reportParked, writeCheckpoint } from './projector.ts';
import type { Projection, TableNames } from './projection.ts';

export interface RebuildResult {
  projection: string;
  events: number;
  position: GlobalPosition;
  /** Events of the log the rebuilt read model does not reflect, in log order. */
  parked: ParkedEvent[];
}

const q = (name: string): string => `"${name}"`;

async function replay(db: Queryable, projection: Projection, tables: TableNames, from: GlobalPosition, batchSize: number): Promise<{ position: GlobalPosition; events: number; parked: Parked[] }> {
  let position = from;
  let events = 0;
  const parked: Parked[] = [];
  for (;;) {
    const batch = await readGlobalLog(db, position, batchSize);
    const last = batch.at(-1);
    if (!last) return { position, events, parked };
    parked.push(...(await applyOrPark(db, projection, batch, tables)));
    position = last.position;
    events += batch.length;
    if (batch.length < batchSize) return { position, events, parked };
  }
}

/**
 * Gives table `to` the row-level security (enabled, forced, every policy) and
 * the privileges of table `from`, both in the current schema.
 */
export async function copySecurity(db: Queryable, from: string, to: string): Promise<void> {
  const { rows: [rel] } = await db.query<{ rls: boolean; force: boolean }>({
    text: 'SELECT relrowsecurity AS rls, relforcerowsecurity AS force FROM pg_class WHERE oid = to_regclass(quote_ident($1))',
    values: [from],
  });
  if (!rel) throw new Error(`copySecurity: no table ${from}`);
  if (rel.rls) await db.query(`ALTER TABLE ${q(to)} ENABLE ROW LEVEL SECURITY`);
  if (rel.force) await db.query(`ALTER TABLE ${q(to)} FORCE ROW LEVEL SECURITY`);
  const { rows: policies } = await db.query<{ name: string; permissive: string; roles: string[]; cmd: string; qual: string | null; with_check: string | null }>({
    text: `SELECT policyname AS name, permissive, roles::text[] AS roles, cmd, qual, with_check FROM pg_policies
           WHERE schemaname = current_schema() AND tablename = $1 ORDER BY policyname`,
    values: [from],
  });
  for (const p of policies) {
    const roles = p.roles.map((r) => (r === 'public' ? 'PUBLIC' : pg.escapeIdentifier(r))).join(', ');
    await db.query(
      `CREATE POLICY ${pg.escapeIdentifier(p.name)} ON ${q(to)} AS ${p.permissive} FOR ${p.cmd} TO ${roles}` +
        (p.qual === null ? '' : ` USING (${p.qual})`) +
        (p.with_check === null ? '' : ` WITH CHECK (${p.with_check})`),
    );
  }
  const { rows: grants } = await db.query<{ grantee: string | null; privilege: string }>({
    text: `SELECT r.rolname AS grantee, a.privilege_type AS privilege
           FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
           WHERE c.oid = to_regclass(quote_ident($1)) AND a.grantee <> c.relowner`,
    values: [from],
  });
  for (const g of grants) await db.query(`GRANT ${g.privilege} ON ${q(to)} TO ${g.grantee === null ? 'PUBLIC' : pg.escapeIdentifier(g.grantee)}`);
}

/** Rebuilds on `pool`, which must be the tables' owner (it creates, renames and drops them). */
export function rebuildProjection(options: { pool: DbPool; projection: Projection; log: DbLogger; batchSize?: number; onParked?: (parked: Parked) => void }): Promise<RebuildResult> {
  return withSystemContext(options.pool, 'orders.projection-rebuild', () => rebuild(options));
}

async function rebuild(options: { pool: DbPool; projection: Projection; log: DbLogger; batchSize?: number; onParked?: (parked: Parked) => void }): Promise<RebuildResult> {
  const { pool, projection, log } = options;
  const batchSize = options.batchSize ?? 1_000;
  const shadow: TableNames = Object.fromEntries(projection.tables.map((t) => [t, `${t}_rebuild`]));
  await withTransaction(pool, async (tx) => {
    for (const t of projection.tables) {
      await tx.query(`DROP TABLE IF EXISTS ${q(`${t}_rebuild`)}`);
      await tx.query(`CREATE TABLE ${q(`${t}_rebuild`)} (LIKE ${q(t)} INCLUDING ALL)`);
      await copySecurity(tx, t, `${t}_rebuild`);
    }
  });
  log.info({ projection: projection.name }, 'projection rebuild started');
  // Bulk of the replay: outside any lock, in batches that each commit.
  let progress = { position: START, events: 0 };
  const parked: ParkedEvent[] = [];
  for (;;) {
    const step = await withTransaction(pool, (tx) => replay(tx, projection, shadow, progress.position, batchSize));
    reportParked(log, projection.name, step.parked, options.onParked);
    parked.push(...step.parked.map((p) => p.event));
    progress = { position: step.position, events: progress.events + step.events };
    if (step.events < batchSize) break;
  }
  // Tail and swap: atomically, with the live projector held off.
  const result = await withTransaction(pool, async (tx) => {
    await tx.query("SET LOCAL lock_timeout = '10s'");
    await tx.query({ text: 'SELECT pg_advisory_xact_lock(hashtext($1))', values: [lockKey(projection.name)] });
    const tail = await replay(tx, projection, shadow, progress.position, batchSize);
    for (const t of projection.tables) {
      await tx.query(`ALTER TABLE ${q(t)} RENAME TO ${q(`${t}_old`)}`);
      await tx.query(`ALTER TABLE ${q(`${t}_rebuild`)} RENAME TO ${q(t)}`);
      await tx.query(`DROP TABLE ${q(`${t}_old`)}`);
    }
    await writeCheckpoint(tx, projection.name, tail.position);
    // Every event up to the checkpoint was replayed under the lock: what was parked and did not fail again now applies.
    const all = [...parked, ...tail.parked.map((p) => p.event)];
    await forgetParkedEventsExcept(tx, projection.name, all.map((p) => p.eventId));
    return { result: { projection: projection.name, events: progress.events + tail.events, position: tail.position, parked: all }, tail: tail.parked };
  });
  reportParked(log, projection.name, result.tail, options.onParked);
  log.info({ projection: projection.name, events: result.result.events, parked: result.result.parked.length }, 'projection rebuilt and swapped in');
  return result.result;
}
