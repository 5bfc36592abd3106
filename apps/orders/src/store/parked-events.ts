/**
 * The projections' dead letters (`projection_parked_events`): events a
 * projection could not apply, kept with their position and the error so an
 * operator can see what the read model is missing and why.
 */
import { UNASSIGNED_TENANT, type Queryable } from '@bulwark/db';
import { formatPosition, positionOf } from './global-log.ts';
import type { RecordedEvent } from './event-store.ts';

export interface ParkedEvent {
  projection: string;
  eventId: string;
  /** `txid:id` (global log position). */
  position: string;
  streamId: string;
  version: number;
  type: string;
  /** The error's code (app code or SQLSTATE), when it had one. */
  errorCode: string | null;
  error: string;
  parkedAt: string;
}

interface ParkedRow {
  projection: string;
  event_id: string;
  transaction_id: string;
  id: string;
  stream_id: string;
  version: number;
  type: string;
  error_code: string | null;
  error: string;
  parked_at: Date;
}

const toParked = (r: ParkedRow): ParkedEvent => ({
  projection: r.projection,
  eventId: r.event_id,
  position: formatPosition(positionOf(r.transaction_id, r.id)),
  streamId: r.stream_id,
  version: r.version,
  type: r.type,
  errorCode: r.error_code,
  error: r.error,
  parkedAt: r.parked_at.toISOString(),
});

const COLUMNS = 'projection, event_id::text AS event_id, transaction_id::text AS transaction_id, id::text AS id, stream_id, version, type, error_code, error, parked_at';

/**
 * The tenant a dead letter is filed under: the event's. An event written
 * before tenants has none; its dead letter goes under UNASSIGNED_TENANT, so
 * the projector is not stopped by the presence check.
 */
export function tenantOfParked(tenantId: string | null): string {
  return tenantId ?? UNASSIGNED_TENANT;
}

/**
 * Records (or re-records, with the latest error) that `projection` could not
 * apply `event`; `isNew` is false when it was parked already (a rebuild
 * meeting it again).
 */
export async function parkEvent(db: Queryable, projection: string, event: RecordedEvent, error: { code: string | null; message: string }): Promise<{ parked: ParkedEvent; isNew: boolean }> {
  // xmax = 0 only on a row this statement inserted (an updated row carries our xid as xmax).
  const { rows } = await db.query<ParkedRow & { is_new: boolean }>({
    name: 'orders.parked.insert',
    text: `INSERT INTO projection_parked_events (projection, event_id, transaction_id, id, stream_id, version, type, error_code, error, tenant_id)
           VALUES ($1, $2, $3::xid8, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (projection, event_id) DO UPDATE SET error_code = EXCLUDED.error_code, error = EXCLUDED.error, parked_at = now()
           RETURNING ${COLUMNS}, (xmax = 0) AS is_new`,
    values: [projection, event.eventId, event.position.transactionId, event.position.id, event.streamId, event.version, event.type, error.code, error.message, tenantOfParked(event.tenantId)],
  });
  const row = rows[0]!;
  return { parked: toParked(row), isNew: row.is_new };
}

/** The first `limit` parked events of a projection, in log order. */
export async function listParkedEvents(db: Queryable, projection: string, limit: number): Promise<ParkedEvent[]> {
  const { rows } = await db.query<ParkedRow>({
    name: 'orders.parked.list',
    text: `SELECT ${COLUMNS} FROM projection_parked_events WHERE projection = $1 ORDER BY transaction_id, id LIMIT $2`,
    values: [projection, limit],
  });
  return rows.map(toParked);
}

/** Parked events per projection. */
export async function countParkedEvents(db: Queryable): Promise<Map<string, number>> {
  const { rows } = await db.query<{ projection: string; n: string }>({
    name: 'orders.parked.count',
    text: 'SELECT projection, count(*)::text AS n FROM projection_parked_events GROUP BY projection',
  });
  return new Map(rows.map((r) => [r.projection, Number(r.n)]));
}

/** After a rebuild: forgets the parked events of `projection` that the replay applied (all but `stillParked`). */
export async function forgetParkedEventsExcept(db: Queryable, projection: string, stillParked: readonly string[]): Promise<number> {
  const { rowCount } = await db.query({
    name: 'orders.parked.forget',
    text: 'DELETE FROM projection_parked_events WHERE projection = $1 AND NOT (event_id = ANY($2::uuid[]))',
    values: [projection, stillParked],
  });
  return rowCount ?? 0;
}
