/**
 * The CDC relay's dead letters (`relay_parked_events`): committed events it
 * could not publish because their data fails the topic's schema, kept with
 * the error until they are republished.
 */
import type { Queryable } from '@bulwark/db';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow, type RecordedEvent } from './event-store.ts';
import { tenantOfParked, type ParkedEvent } from './parked-events.ts';

/** A projection's dead letter without projection and position, plus when it went out again. */
export type RelayParkedEvent = Omit<ParkedEvent, 'projection' | 'position'> & { republishedAt: string | null };

interface Row {
  event_id: string;
  stream_id: string;
  version: number;
  type: string;
  error_code: string | null;
  error: string;
  parked_at: Date;
  republished_at: Date | null;
}

/** Records a parked event; a redelivery of the same event keeps the first record (returns false). */
export async function parkRelayEvent(db: Queryable, e: { eventId: string; streamId: string; version: number; type: string; tenantId: string | null; errorCode: string | null; error: string }): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'orders.relay.park',
    text: `INSERT INTO relay_parked_events (event_id, stream_id, version, type, error_code, error, tenant_id) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (event_id) DO UPDATE SET republished_at = NULL, error = EXCLUDED.error, error_code = EXCLUDED.error_code
           WHERE relay_parked_events.republished_at IS NOT NULL`,
    values: [e.eventId, e.streamId, e.version, e.type, e.errorCode, e.error.slice(0, 2000), tenantOfParked(e.tenantId)],
  });
  return (rowCount ?? 0) > 0;
}

export async function listRelayParked(db: Queryable, limit: number, waitingOnly = false): Promise<RelayParkedEvent[]> {
  const { rows } = await db.query<Row>({
    name: waitingOnly ? 'orders.relay.parked_waiting' : 'orders.relay.parked',
    text: `SELECT * FROM relay_parked_events ${waitingOnly ? 'WHERE republished_at IS NULL' : ''} ORDER BY parked_at, event_id LIMIT $1`,
    values: [limit],
  });
  return rows.map((r) => ({
    eventId: r.event_id,
    streamId: r.stream_id,
    version: r.version,
    type: r.type,
    errorCode: r.error_code,
    error: r.error,
    parkedAt: r.parked_at.toISOString(),
    republishedAt: r.republished_at?.toISOString() ?? null,
  }));
}

/** The stored events of parked ids (the event log stays the source of what is republished). */
export async function loadParkedEvents(db: Queryable, eventIds: readonly string[]): Promise<RecordedEvent[]> {
  const { rows } = await db.query<EventRow>({ text: `SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = ANY($1::uuid[]) ORDER BY transaction_id, id`, values: [eventIds] });
  return rows.map(toRecordedEvent);
}

export async function markRepublished(db: Queryable, eventId: string): Promise<void> {
  await db.query({ name: 'orders.relay.republished', text: 'UPDATE relay_parked_events SET republished_at = now() WHERE event_id = $1', values: [eventId] });
}

export async function recordRepublishFailure(db: Queryable, eventId: string, errorCode: string | null, error: string): Promise<void> {
  await db.query({ name: 'orders.relay.republish_failed', text: 'UPDATE relay_parked_events SET error_code = $2, error = $3 WHERE event_id = $1', values: [eventId, errorCode, error.slice(0, 2000)] });
}
