/**
 * The bookkeeping of zero-downtime changes, in the app's schema:
 * `zd_changes` (one row per change: state, backfill cursor and progress,
 * pause flag) and `zd_instances` (one heartbeat row per running instance:
 * the schema version its code needs). Liveness is judged on the database's
 * clock only (`heartbeat_at + ttl > now()`, both written and read there), so
 * no two machines' clocks are compared.
 */
import type { DbClient, DbPool, Queryable } from '../pool.ts';
import type { ChangeState, LiveInstance } from './plan.ts';

export interface ZeroDowntimeTarget {
  /** The tables' owner (DDL runs on it). */
  pool: DbPool;
  /** The app's schema: the changes' search_path and the bookkeeping tables' home; default 'public'. */
  schema?: string;
}

export interface ChangeRow {
  version: number;
  name: string;
  state: ChangeState;
  cursor: string | null;
  rowsDone: number;
  batches: number;
  paused: boolean;
  updatedAt: Date | null;
}

export function quoteIdent(id: string): string {
  return `"${id.replaceAll('"', '""')}"`;
}

export function schemaOf(target: ZeroDowntimeTarget): { schema: string; q: (table: string) => string; searchPath: string } {
  const schema = target.schema ?? 'public';
  return {
    schema,
    q: (table) => `${quoteIdent(schema)}.${quoteIdent(table)}`,
    searchPath: schema === 'public' ? 'public' : `${quoteIdent(schema)}, public`,
  };
}

const TABLES_LOCK = 0x42777a64; // 'Bwzd'

/** Creates the bookkeeping tables if missing (serialised by a transaction-level advisory lock, so concurrent callers do not race). */
export async function ensureZeroDowntimeTables(target: ZeroDowntimeTarget): Promise<void> {
  const { schema, q } = schemaOf(target);
  await target.pool.withClient(async (client) => {
    await client.query('BEGIN');
    try {
      await client.query({ name: 'zdm.tables-lock', text: 'SELECT pg_advisory_xact_lock($1, hashtext($2))', values: [TABLES_LOCK, schema] });
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${q('zd_changes')} (
        version integer PRIMARY KEY,
        name text NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'expanded', 'backfilling', 'backfilled', 'verified', 'contracted')),
        cursor text,
        rows_done bigint NOT NULL DEFAULT 0,
        batches integer NOT NULL DEFAULT 0,
        paused boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${q('zd_instances')} (
        instance_id text PRIMARY KEY,
        app text NOT NULL,
        schema_version integer NOT NULL,
        ttl_ms integer NOT NULL CHECK (ttl_ms > 0),
        started_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now()
      )`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

export async function readChangeRows(db: Queryable, target: ZeroDowntimeTarget): Promise<Map<number, ChangeRow>> {
  const { rows } = await db.query<{ version: number; name: string; state: ChangeState; cursor: string | null; rows_done: string; batches: number; paused: boolean; updated_at: Date }>({
    name: 'zdm.changes',
    text: `SELECT version, name, state, cursor, rows_done, batches, paused, updated_at FROM ${schemaOf(target).q('zd_changes')} ORDER BY version`,
  });
  return new Map(rows.map((r) => [r.version, { version: r.version, name: r.name, state: r.state, cursor: r.cursor, rowsDone: Number(r.rows_done), batches: r.batches, paused: r.paused, updatedAt: r.updated_at }]));
}

export async function readChangeRow(client: DbClient, target: ZeroDowntimeTarget, version: number): Promise<ChangeRow | undefined> {
  return (await readChangeRows(client, target)).get(version);
}

/** Sets a change's state (creating its row); `resetProgress` clears cursor, counts and pause. */
export async function writeChangeState(db: Queryable, target: ZeroDowntimeTarget, change: { version: number; name: string }, state: ChangeState, resetProgress = false): Promise<void> {
  await db.query({
    name: 'zdm.set-state',
    text: `INSERT INTO ${schemaOf(target).q('zd_changes')} AS c (version, name, state) VALUES ($1, $2, $3)
      ON CONFLICT (version) DO UPDATE SET state = EXCLUDED.state, updated_at = now()${resetProgress ? ', cursor = NULL, rows_done = 0, batches = 0, paused = false' : ''}`,
    values: [change.version, change.name, state],
  });
}

/** Instances whose last heartbeat is younger than their TTL, on the database's clock. */
export async function readLiveInstances(db: Queryable, target: ZeroDowntimeTarget): Promise<LiveInstance[]> {
  const { rows } = await db.query<{ instance_id: string; app: string; schema_version: number }>({
    name: 'zdm.live-instances',
    text: `SELECT instance_id, app, schema_version FROM ${schemaOf(target).q('zd_instances')}
      WHERE heartbeat_at + ttl_ms * interval '1 millisecond' > now() ORDER BY schema_version, instance_id`,
  });
  return rows.map((r) => ({ instanceId: r.instance_id, app: r.app, schemaVersion: r.schema_version }));
}
