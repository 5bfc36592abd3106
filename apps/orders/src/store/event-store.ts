/**
 * The event store: streams with optimistic concurrency and an append-only
 * event log in PostgreSQL. An append is ONE statement (one round trip, and
 * with autocommit its own transaction): a CTE moves the stream head from the
 * expected version to the new one — or does nothing when the head is
 * elsewhere — and inserts the whole batch with INSERT … SELECT FROM unnest().
 * When the head did not move no event is inserted and the caller gets a
 * VersionConflictError. The UNIQUE (stream_id, version) constraint backs this
 * up: even a writer that bypassed the head could never own a version twice.
 */
import { randomUUID } from 'node:crypto';
import { sqlStateOf, type Queryable } from '@bulwark/db';
import { VersionConflictError } from '../errors.ts';
import { positionOf, type GlobalPosition } from './global-log.ts';

export interface NewEvent {
  /** Stable id (default a random UUID); reused as the Kafka CloudEvents id. */
  eventId?: string;
  type: string;
  data: unknown;
  metadata?: Record<string, unknown>;
}

export interface RecordedEvent {
  position: GlobalPosition;
  eventId: string;
  streamId: string;
  version: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  recordedAt: Date;
}

export interface AppendResult {
  /** The stream's version after the append (= version of its last event). */
  version: number;
  eventIds: string[];
}

export interface StoredSnapshot {
  version: number;
  schemaVersion: number;
  state: unknown;
}

/** The append statement (exported for the benchmark's EXPLAIN). */
export const APPEND_SQL = `
WITH created AS (
  INSERT INTO streams (stream_id, stream_type, version)
  SELECT $1, $2, $3::int + cardinality($4::uuid[]) WHERE $3::int = 0
  ON CONFLICT (stream_id) DO NOTHING
  RETURNING version
), moved AS (
  UPDATE streams SET version = $3::int + cardinality($4::uuid[]), updated_at = now()
  WHERE stream_id = $1 AND version = $3::int AND $3::int > 0
  RETURNING version
), head AS (
  SELECT version FROM created UNION ALL SELECT version FROM moved
)
INSERT INTO events (event_id, stream_id, version, type, data, metadata)
SELECT e.event_id, $1, $3::int + e.ord::int, e.type, e.data, e.metadata
FROM head, unnest($4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[]) WITH ORDINALITY AS e(event_id, type, data, metadata, ord)
RETURNING version`;

/**
 * Appends `events` to `streamId` if it is at `expectedVersion` (0 = the
 * stream must not exist yet). Throws VersionConflictError otherwise.
 */
export async function appendToStream(db: Queryable, streamId: string, streamType: string, expectedVersion: number, events: readonly NewEvent[]): Promise<AppendResult> {
  if (events.length === 0) return { version: expectedVersion, eventIds: [] };
  const eventIds = events.map((e) => e.eventId ?? randomUUID());
  try {
    const { rowCount } = await db.query({
      name: 'orders.append',
      text: APPEND_SQL,
      values: [
        streamId,
        streamType,
        expectedVersion,
        eventIds,
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => JSON.stringify(e.metadata ?? {})),
      ],
    });
    if (rowCount !== events.length) throw new VersionConflictError(streamId, expectedVersion, await streamVersion(db, streamId));
  } catch (err) {
    if (sqlStateOf(err) === '23505') throw new VersionConflictError(streamId, expectedVersion, await streamVersion(db, streamId).catch(() => undefined));
    throw err;
  }
  return { version: expectedVersion + events.length, eventIds };
}

export async function streamVersion(db: Queryable, streamId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ version: number }>({ name: 'orders.stream_version', text: 'SELECT version FROM streams WHERE stream_id = $1', values: [streamId] });
  return rows[0]?.version;
}

interface EventRow {
  id: string;
  transaction_id: string;
  event_id: string;
  stream_id: string;
  version: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_at: Date;
}

export const EVENT_COLUMNS = 'id, transaction_id::text AS transaction_id, event_id, stream_id, version, type, data, metadata, recorded_at';

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    position: positionOf(row.transaction_id, row.id),
    eventId: row.event_id,
    streamId: row.stream_id,
    version: row.version,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
  };
}

/**
 * Loads a stream for rehydration in one round trip: the snapshot (if any,
 * and only of `schemaVersion`) and the events after it.
 */
export async function loadStream(db: Queryable, streamId: string, schemaVersion: number): Promise<{ snapshot: StoredSnapshot | undefined; events: RecordedEvent[] }> {
  const { rows } = await db.query<EventRow & { snapshot_state: unknown; snapshot_version: number | null }>({
    name: 'orders.load_stream',
    text: `
      WITH snap AS (SELECT version, state FROM snapshots WHERE stream_id = $1 AND schema_version = $2)
      SELECT ${EVENT_COLUMNS}, NULL::jsonb AS snapshot_state, NULL::int AS snapshot_version
      FROM events WHERE stream_id = $1 AND version > COALESCE((SELECT version FROM snap), 0)
      UNION ALL
      SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, state, version FROM snap
      ORDER BY version NULLS FIRST`,
    values: [streamId, schemaVersion],
  });
  let snapshot: StoredSnapshot | undefined;
  const events: RecordedEvent[] = [];
  for (const row of rows) {
    if (row.snapshot_version !== null) snapshot = { version: row.snapshot_version, schemaVersion, state: row.snapshot_state };
    else events.push(toRecordedEvent(row));
  }
  return { snapshot, events };
}

/** Every event of a stream, in version order (tests, debugging, rebuild checks). */
export async function readStream(db: Queryable, streamId: string): Promise<RecordedEvent[]> {
  const { rows } = await db.query<EventRow>({ name: 'orders.read_stream', text: `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version`, values: [streamId] });
  return rows.map(toRecordedEvent);
}

/** Upserts a snapshot unless a newer one is already there (snapshots are a cache: losing one only costs replay). */
export async function saveSnapshot(db: Queryable, streamId: string, snapshot: StoredSnapshot): Promise<void> {
  await db.query({
    name: 'orders.save_snapshot',
    text: `INSERT INTO snapshots (stream_id, version, schema_version, state) VALUES ($1, $2, $3, $4)
           ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, schema_version = EXCLUDED.schema_version, state = EXCLUDED.state, taken_at = now()
           WHERE snapshots.version < EXCLUDED.version OR snapshots.schema_version <> EXCLUDED.schema_version`,
    values: [streamId, snapshot.version, snapshot.schemaVersion, JSON.stringify(snapshot.state)],
  });
}
