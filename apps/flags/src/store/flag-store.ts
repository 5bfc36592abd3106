/**
 * Flags and segments in PostgreSQL: plain rows in, plain objects out. Every
 * statement runs under the caller's tenant (row-level security); the audit
 * trail's id doubles as the tenant's snapshot revision.
 */
import type { Queryable } from '@bulwark/db';
import type { JsonValue } from '@bulwark/openfeature-provider/evaluation';
import type { EnvironmentInput, SegmentInput } from '../http/schemas.ts';

export interface FlagRecord {
  key: string;
  type: 'boolean' | 'string' | 'number' | 'object';
  description: string;
  variants: Record<string, JsonValue>;
  environments: Record<string, EnvironmentInput>;
  killed: boolean;
  salt: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface SegmentRecord extends SegmentInput {
  key: string;
  version: number;
  updatedAt: string;
}

const FLAG_COLUMNS = `key, type, description, variants, environments, killed, salt, version,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"`;
const SEGMENT_COLUMNS = `key, description, included, excluded, clauses, version,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"`;

export async function findFlag(db: Queryable, key: string, lock = false): Promise<FlagRecord | undefined> {
  const { rows } = await db.query<FlagRecord>({ name: `flags.find_flag${lock ? '_locked' : ''}`, text: `SELECT ${FLAG_COLUMNS} FROM flags WHERE key = $1${lock ? ' FOR UPDATE' : ''}`, values: [key] });
  return rows[0];
}

export async function listFlags(db: Queryable): Promise<FlagRecord[]> {
  const { rows } = await db.query<FlagRecord>({ name: 'flags.list_flags', text: `SELECT ${FLAG_COLUMNS} FROM flags ORDER BY key` });
  return rows;
}

/** Inserts or replaces; the version goes up by one on replace. */
export async function saveFlag(db: Queryable, flag: Omit<FlagRecord, 'version' | 'createdAt' | 'updatedAt'>): Promise<FlagRecord> {
  const { rows } = await db.query<FlagRecord>({
    name: 'flags.save_flag',
    text: `INSERT INTO flags (key, type, description, variants, environments, killed, salt) VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (tenant_id, key) DO UPDATE SET type = EXCLUDED.type, description = EXCLUDED.description, variants = EXCLUDED.variants,
        environments = EXCLUDED.environments, killed = EXCLUDED.killed, salt = EXCLUDED.salt, version = flags.version + 1, updated_at = now()
      RETURNING ${FLAG_COLUMNS}`,
    values: [flag.key, flag.type, flag.description, JSON.stringify(flag.variants), JSON.stringify(flag.environments), flag.killed, flag.salt],
  });
  return rows[0]!;
}

export async function deleteFlag(db: Queryable, key: string): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'flags.delete_flag', text: 'DELETE FROM flags WHERE key = $1', values: [key] });
  return (rowCount ?? 0) > 0;
}

export async function findSegment(db: Queryable, key: string): Promise<SegmentRecord | undefined> {
  const { rows } = await db.query<SegmentRecord>({ name: 'flags.find_segment', text: `SELECT ${SEGMENT_COLUMNS} FROM segments WHERE key = $1`, values: [key] });
  return rows[0];
}

export async function listSegments(db: Queryable): Promise<SegmentRecord[]> {
  const { rows } = await db.query<SegmentRecord>({ name: 'flags.list_segments', text: `SELECT ${SEGMENT_COLUMNS} FROM segments ORDER BY key` });
  return rows;
}

export async function segmentKeys(db: Queryable): Promise<Set<string>> {
  const { rows } = await db.query<{ key: string }>({ name: 'flags.segment_keys', text: 'SELECT key FROM segments' });
  return new Set(rows.map((r) => r.key));
}

export async function saveSegment(db: Queryable, key: string, input: SegmentInput): Promise<SegmentRecord> {
  const { rows } = await db.query<SegmentRecord>({
    name: 'flags.save_segment',
    text: `INSERT INTO segments (key, description, included, excluded, clauses) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (tenant_id, key) DO UPDATE SET description = EXCLUDED.description, included = EXCLUDED.included, excluded = EXCLUDED.excluded,
        clauses = EXCLUDED.clauses, version = segments.version + 1, updated_at = now()
      RETURNING ${SEGMENT_COLUMNS}`,
    values: [key, input.description, input.included, input.excluded, JSON.stringify(input.clauses)],
  });
  return rows[0]!;
}

export async function deleteSegment(db: Queryable, key: string): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'flags.delete_segment', text: 'DELETE FROM segments WHERE key = $1', values: [key] });
  return (rowCount ?? 0) > 0;
}

/** Keys of the flags whose rules name the segment in any environment. */
export async function flagsUsingSegment(db: Queryable, segment: string): Promise<string[]> {
  const { rows } = await db.query<{ key: string }>({
    name: 'flags.flags_using_segment',
    text: `SELECT key FROM flags f WHERE EXISTS (
      SELECT 1 FROM jsonb_each(f.environments) e, jsonb_array_elements(e.value->'rules') r, jsonb_array_elements(r->'clauses') c
      WHERE c->>'segment' = $1) ORDER BY key`,
    values: [segment],
  });
  return rows.map((r) => r.key);
}

export interface ChangeRecord {
  id: number;
  entity: 'flag' | 'segment' | 'experiment';
  key: string;
  action: string;
  actor: string;
  before: unknown;
  after: unknown;
  at: string;
}

/** Appends to the audit trail; returns the change id (the tenant's new revision). */
export async function recordChange(db: Queryable, change: Omit<ChangeRecord, 'id' | 'at'>): Promise<number> {
  const { rows } = await db.query<{ id: string }>({
    name: 'flags.record_change',
    text: 'INSERT INTO flag_changes (entity, entity_key, action, actor, before, after) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
    values: [change.entity, change.key, change.action, change.actor, change.before === undefined ? null : JSON.stringify(change.before), change.after === undefined ? null : JSON.stringify(change.after)],
  });
  return Number(rows[0]!.id);
}

export async function listChanges(db: Queryable, filter: { entity?: string; key?: string; before?: number; limit: number }): Promise<ChangeRecord[]> {
  const { rows } = await db.query<Omit<ChangeRecord, 'id'> & { id: string }>({
    name: 'flags.list_changes',
    text: `SELECT id, entity, entity_key AS key, action, actor, before, after, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
      FROM flag_changes WHERE ($1::text IS NULL OR entity = $1) AND ($2::text IS NULL OR entity_key = $2) AND ($3::bigint IS NULL OR id < $3)
      ORDER BY id DESC LIMIT $4`,
    values: [filter.entity ?? null, filter.key ?? null, filter.before ?? null, filter.limit],
  });
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** The tenant's revision: the id of its last change (0 before any). */
export async function latestRevision(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ id: string | null }>({ name: 'flags.latest_revision', text: 'SELECT max(id) AS id FROM flag_changes' });
  return Number(rows[0]?.id ?? 0);
}

/** Latest revision of each named tenant (system context: every tenant's rows). */
export async function latestRevisions(db: Queryable, tenants: string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ tenant: string; id: string }>({
    name: 'flags.latest_revisions',
    text: 'SELECT t AS tenant, (SELECT max(id) FROM flag_changes WHERE tenant_id = t) AS id FROM unnest($1::text[]) AS t',
    values: [tenants],
  });
  return new Map(rows.map((r) => [r.tenant, Number(r.id ?? 0)]));
}

/** Queues an event for the outbox relay in the caller's transaction. */
export async function recordEvent(db: Queryable, event: { id: string; aggregateId: string; type: string; data: unknown }): Promise<void> {
  await db.query({ name: 'flags.record_event', text: 'INSERT INTO flags_events_outbox (event_id, aggregate_id, type, data) VALUES ($1, $2, $3, $4)', values: [event.id, event.aggregateId, event.type, JSON.stringify(event.data)] });
}
