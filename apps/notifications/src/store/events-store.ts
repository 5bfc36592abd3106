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
 * Whether event `ev` is one endpoint $2 lacks: its filter matches and it has
 * no original delivery of it. `OFFSET 0` keeps the NOT EXISTS a per-event
 * probe of the once-per-event index: as an anti-join, with the endpoint's
 * delivery count underestimated (new rows, statistics not yet analysed), the
 * planner looped over all of them for every event (17 s for 12,000 events
 * against 11,000 deliveries).
 */
const LACKED_BY_ENDPOINT = `(ev.type = ANY (en.event_types) OR '*' = ANY (en.event_types))
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.endpoint_id = $2 AND d.event_id = ev.id AND d.replay_of IS NULL OFFSET 0)`;

/**
 * How many of the tenant's retained events since `from` the endpoint's filter
 * matches and it has no delivery of (what a recover from `from` would
 * create), counting at most `max + 1` so a long outage's backlog costs a
 * bounded scan.
 */
export async function countMissedEvents(db: Queryable, q: { tenantId: string; endpointId: string; from: Date; max: number }): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM events ev JOIN endpoints en ON en.id = $2 AND en.tenant_id = ev.tenant_id
       WHERE ev.tenant_id = $1 AND ev.created_at >= $3 AND ${LACKED_BY_ENDPOINT} LIMIT $4 + 1) missed`,
    [q.tenantId, q.endpointId, q.from, q.max],
  );
  return rows[0]!.n;
}

const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * Creates the missing original deliveries of one endpoint for the tenant's
 * retained events in [from, to) (no `to`: up to the newest) that its filter
 * matches, in publication order. It looks at no more than `scanMax` events
 * of the range and takes no more than `limit` of them; an event the endpoint
 * already has a delivery of is skipped (the once-per-event index takes a
 * concurrent overlap), so calling again with the same range is idempotent
 * and continues where a full page stopped, however many events share one
 * creation time (up to `scanMax` of them: one publish transaction writes
 * one event). `next` is where to continue (the creation time of the last
 * event taken or looked at), null when the range is done.
 */
export async function insertMissedDeliveries(
  db: Queryable,
  q: { tenantId: string; endpointId: string; from: Date; to: Date | undefined; limit: number; scanMax: number },
): Promise<{ deliveryIds: string[]; next: string | null }> {
  const { rows } = await db.query<{ id: string | null; taken: number; scanned: number; lastTaken: string | null; lastScanned: string | null }>(
    `WITH win AS (
       SELECT ev.id, ev.type, ev.payload, ev.seq, ev.created_at FROM events ev
       WHERE ev.tenant_id = $1 AND ev.created_at >= $3 AND ($4::timestamptz IS NULL OR ev.created_at < $4)
       ORDER BY ev.created_at, ev.seq LIMIT $6),
     src AS (
       SELECT ev.* FROM win ev JOIN endpoints en ON en.id = $2 AND en.tenant_id = $1
       WHERE ${LACKED_BY_ENDPOINT}
       ORDER BY ev.created_at, ev.seq LIMIT $5),
     ins AS (
       INSERT INTO deliveries (id, endpoint_id, tenant_id, event_id, event_type, payload)
       SELECT gen_random_uuid(), $2, $1, src.id, src.type, src.payload FROM src ORDER BY src.created_at, src.seq
       ON CONFLICT (endpoint_id, event_id) WHERE replay_of IS NULL DO NOTHING RETURNING id)
     SELECT ins.id, (SELECT count(*)::int FROM src) AS taken, (SELECT count(*)::int FROM win) AS scanned,
       (SELECT ${iso('max(created_at)')} FROM src) AS "lastTaken", (SELECT ${iso('max(created_at)')} FROM win) AS "lastScanned"
     FROM (SELECT 1) one LEFT JOIN ins ON true`,
    [q.tenantId, q.endpointId, q.from, q.to ?? null, q.limit, q.scanMax],
  );
  const r = rows[0];
  const next = !r ? null : r.taken >= q.limit ? r.lastTaken : r.scanned >= q.scanMax ? r.lastScanned : null;
  return { deliveryIds: rows.flatMap((x) => (x.id === null ? [] : [x.id])), next };
}

/** Deletes up to `batch` events older than the retention; returns how many went. */
export async function deleteExpiredEvents(db: Queryable, retentionMs: number, batch: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM events WHERE ctid IN (SELECT ctid FROM events WHERE created_at < now() - make_interval(secs => $1::float8 / 1000) ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [retentionMs, batch],
  );
  return rowCount ?? 0;
}
