/**
 * SQL of the event log: every event published to a tenant, kept for the
 * retention period whatever its endpoints' state, so deliveries an endpoint
 * missed (disabled, or registered later) can be created from it. Plain
 * objects out; the callers own the transactions.
 */
import type { Queryable } from '@bulwark/db';

export interface StoredEvent {
  /** False when the id existed: `fingerprint` and `payload` are then the first publication's. */
  inserted: boolean;
  fingerprint: string;
  payload: string;
}

/** Records an event once per (tenant, id); a second publication of the id gets the first one back. */
export async function storeEvent(db: Queryable, e: { tenantId: string; id: string; type: string; fingerprint: string; payload: string }): Promise<StoredEvent> {
  const { rows } = await db.query<{ fingerprint: string; payload: string }>(
    `INSERT INTO events (tenant_id, id, type, fingerprint, payload) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, id) DO NOTHING RETURNING fingerprint, payload`,
    [e.tenantId, e.id, e.type, e.fingerprint, e.payload],
  );
  if (rows[0]) return { inserted: true, ...rows[0] };
  const existing = await db.query<{ fingerprint: string; payload: string }>(`SELECT fingerprint, payload FROM events WHERE tenant_id = $1 AND id = $2`, [e.tenantId, e.id]);
  return { inserted: false, ...existing.rows[0]! };
}

/**
 * The tenant's ($1) retained events in [$3, $4) that endpoint $2's filter
 * matches and that it has no original delivery of. `OFFSET 0` keeps the
 * NOT EXISTS a per-event probe of the once-per-event index: as an anti-join,
 * with the endpoint's delivery count underestimated (new rows, statistics
 * not yet analysed), the planner looped over all of them for every event
 * (17 s for 12,000 events against 11,000 deliveries).
 */
const MISSED_EVENTS = `FROM events ev JOIN endpoints en ON en.id = $2 AND en.tenant_id = ev.tenant_id
  WHERE ev.tenant_id = $1 AND ev.created_at >= $3 AND ($4::timestamptz IS NULL OR ev.created_at < $4) AND (ev.type = ANY (en.event_types) OR '*' = ANY (en.event_types))
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.endpoint_id = $2 AND d.event_id = ev.id AND d.replay_of IS NULL OFFSET 0)`;

/**
 * How many of the tenant's retained events since `from` the endpoint's filter
 * matches and it has no delivery of (what a recover from `from` would
 * create), counting at most `max + 1` so a long outage's backlog costs a
 * bounded scan.
 */
export async function countMissedEvents(db: Queryable, q: { tenantId: string; endpointId: string; from: Date; max: number }): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT 1 ${MISSED_EVENTS} LIMIT $5 + 1) missed`, [q.tenantId, q.endpointId, q.from, null, q.max]);
  return rows[0]!.n;
}

/**
 * Creates the missing original deliveries of one endpoint for the tenant's
 * retained events in [from, to) (no `to`: up to the newest) that its filter
 * matches, in publication order; an event the endpoint already has a
 * delivery of is skipped before the limit (and the once-per-event index
 * takes a concurrent overlap). `limit` bounds the events taken, so calling
 * again with the same range continues where a full page stopped, however
 * many events share one creation time (a page that skipped nothing never
 * stalls on them); `lastCreatedAt` is the creation time of the last one.
 */
export async function insertMissedDeliveries(
  db: Queryable,
  q: { tenantId: string; endpointId: string; from: Date; to: Date | undefined; limit: number },
): Promise<{ deliveryIds: string[]; scanned: number; lastCreatedAt: string | null }> {
  const { rows } = await db.query<{ id: string | null; scanned: number; last: string | null }>(
    `WITH src AS (
       SELECT ev.id, ev.type, ev.payload, ev.seq, ev.created_at ${MISSED_EVENTS}
       ORDER BY ev.created_at, ev.seq LIMIT $5),
     ins AS (
       INSERT INTO deliveries (id, endpoint_id, tenant_id, event_id, event_type, payload)
       SELECT gen_random_uuid(), $2, $1, src.id, src.type, src.payload FROM src ORDER BY src.created_at, src.seq
       ON CONFLICT (endpoint_id, event_id) WHERE replay_of IS NULL DO NOTHING RETURNING id)
     SELECT ins.id, (SELECT count(*)::int FROM src) AS scanned,
       (SELECT to_char(max(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM src) AS last
     FROM (SELECT 1) one LEFT JOIN ins ON true`,
    [q.tenantId, q.endpointId, q.from, q.to ?? null, q.limit],
  );
  return { deliveryIds: rows.flatMap((r) => (r.id === null ? [] : [r.id])), scanned: rows[0]?.scanned ?? 0, lastCreatedAt: rows[0]?.last ?? null };
}

/** Deletes up to `batch` events older than the retention; returns how many went. */
export async function deleteExpiredEvents(db: Queryable, retentionMs: number, batch: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM events WHERE ctid IN (SELECT ctid FROM events WHERE created_at < now() - make_interval(secs => $1::float8 / 1000) ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [retentionMs, batch],
  );
  return rowCount ?? 0;
}
