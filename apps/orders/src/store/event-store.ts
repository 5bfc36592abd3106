/**
 * The event store: streams with optimistic concurrency and an append-only
 * event log in PostgreSQL. An append is ONE statement (one round trip, and
 * with autocommit its own transaction) and, past a stream's first append, ONE
 * row write: the event row itself. The stream's version is the highest
 * version of its events (read through the UNIQUE (stream_id, version) index),
 * and that unique constraint is the concurrency control: the append inserts
 * version expected+1… only if version `expected` exists, so a writer behind
 * the head collides with the row that is there (23505) and a writer ahead of
 * it inserts nothing — both are a VersionConflictError. The first append
 * (expected 0) also registers the stream in `streams` (its type), in the same
 * statement; a second creator finds it there and inserts nothing.
 * Why no head row updated per append: it was a second write (6–7 WAL records
 * against 2–3) and most of the cost over a bare INSERT (docs/PERFORMANCE.md).
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
  /** Whose event it is (tenant_id); null only for rows written before tenants (visible to no tenant). */
  tenantId: string | null;
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

/** Creates the stream and appends its first events (expected version 0). */
export const CREATE_SQL = `
WITH created AS (
  INSERT INTO streams (stream_id, stream_type) VALUES ($1, $2)
  ON CONFLICT (stream_id) DO NOTHING
  RETURNING 1
)
INSERT INTO events (event_id, stream_id, version, type, data, metadata)
SELECT e.event_id, $1, e.ord::int, e.type, e.data, e.metadata
FROM created, unnest($3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[]) WITH ORDINALITY AS e(event_id, type, data, metadata, ord)
RETURNING version`;

/** Appends events after version $2 of an existing stream, if that version is there. */
export const APPEND_SQL = `
INSERT INTO events (event_id, stream_id, version, type, data, metadata)
SELECT e.event_id, $1, $2::int + e.ord::int, e.type, e.data, e.metadata
FROM unnest($3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[]) WITH ORDINALITY AS e(event_id, type, data, metadata, ord)
WHERE EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND version = $2::int)
RETURNING version`;

/** The single-event form of APPEND_SQL (the common command): no unnest to plan. Exported for the benchmark's EXPLAIN. */
export const APPEND_ONE_SQL = `
INSERT INTO events (event_id, stream_id, version, type, data, metadata)
SELECT $3::uuid, $1, $2::int + 1, $4, $5::jsonb, $6::jsonb
WHERE EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND version = $2::int)
RETURNING version`;

/** Prepared (per connection, parsed once): the appends are the hottest statements and their text never changes. */
function appendQuery(streamId: string, streamType: string, expectedVersion: number, eventIds: string[], events: readonly NewEvent[]): { name: string; text: string; values: unknown[]; prepare: true } {
  const types = events.map((e) => e.type);
  const data = events.map((e) => JSON.stringify(e.data));
  const metadata = events.map((e) => JSON.stringify(e.metadata ?? {}));
  if (expectedVersion === 0) return { name: 'orders.create_stream', text: CREATE_SQL, values: [streamId, streamType, eventIds, types, data, metadata], prepare: true };
  if (events.length === 1) return { name: 'orders.append_one', text: APPEND_ONE_SQL, values: [streamId, expectedVersion, eventIds[0], types[0], data[0], metadata[0]], prepare: true };
  return { name: 'orders.append', text: APPEND_SQL, values: [streamId, expectedVersion, eventIds, types, data, metadata], prepare: true };
}

/**
 * Appends `events` to `streamId` if it is at `expectedVersion` (0 = the
 * stream must not exist yet). Throws VersionConflictError otherwise.
 */
export async function appendToStream(db: Queryable, streamId: string, streamType: string, expectedVersion: number, events: readonly NewEvent[]): Promise<AppendResult> {
  if (events.length === 0) return { version: expectedVersion, eventIds: [] };
  const eventIds = events.map((e) => e.eventId ?? randomUUID());
  try {
    const { rowCount } = await db.query(appendQuery(streamId, streamType, expectedVersion, eventIds, events));
    if (rowCount !== events.length) throw new VersionConflictError(streamId, expectedVersion, await streamVersion(db, streamId));
  } catch (err) {
    if (sqlStateOf(err) === '23505') throw new VersionConflictError(streamId, expectedVersion, await streamVersion(db, streamId).catch(() => undefined));
    throw err;
  }
  return { version: expectedVersion + events.length, eventIds };
}

/** The stream's current version (its last event's), or undefined when it has no events. */
export async function streamVersion(db: Queryable, streamId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ version: number | null }>({ name: 'orders.stream_version', text: 'SELECT max(version) AS version FROM events WHERE stream_id = $1', values: [streamId] });
  return rows[0]?.version ?? undefined;
}

export interface EventRow {
  id: string;
  transaction_id: string;
  event_id: string;
  stream_id: string;
  version: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_at: Date;
  tenant_id: string | null;
}

export const EVENT_COLUMNS = 'id, transaction_id::text AS transaction_id, event_id, stream_id, version, type, data, metadata, recorded_at, tenant_id';

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
    tenantId: row.tenant_id,
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
      SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, state, version FROM snap
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
