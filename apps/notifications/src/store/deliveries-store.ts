/**
 * SQL of webhook deliveries and their attempt log. A delivery is `pending`
 * until it succeeds or dies (attempts exhausted, retry horizon passed,
 * endpoint disabled); every attempt is a row of `delivery_attempts`.
 */
import type { Queryable } from '@bulwark/db';
import type { EndpointHealth } from '../domain/endpoint-breaker.ts';

export type DeliveryStatus = 'pending' | 'succeeded' | 'dead';

export interface Delivery {
  id: string;
  endpointId: string;
  tenantId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  replayOf: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  finishedAt: string | null;
}

export interface DeliveryAttempt {
  attempt: number;
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  responseSnippet: string;
  error: string | null;
  attemptedAt: string;
}

const ts = (col: string, as: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "${as}"`;

const COLUMNS = `id, endpoint_id AS "endpointId", tenant_id AS "tenantId", event_id AS "eventId", event_type AS "eventType", status, attempts,
  last_status_code AS "lastStatusCode", last_error AS "lastError", replay_of AS "replayOf", ${ts('created_at', 'createdAt')},
  ${ts('last_attempt_at', 'lastAttemptAt')}, ${ts('finished_at', 'finishedAt')}`;

/** Inserts a delivery; undefined when the endpoint already has the event (an original, not a replay). */
export async function insertDelivery(
  db: Queryable,
  d: { id: string; endpointId: string; tenantId: string; eventId: string; eventType: string; payload: string; replayOf?: string },
): Promise<Delivery | undefined> {
  const { rows } = await db.query<Delivery>(
    `INSERT INTO deliveries (id, endpoint_id, tenant_id, event_id, event_type, payload, replay_of) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (endpoint_id, event_id) WHERE replay_of IS NULL DO NOTHING RETURNING ${COLUMNS}`,
    [d.id, d.endpointId, d.tenantId, d.eventId, d.eventType, d.payload, d.replayOf ?? null],
  );
  return rows[0];
}

/**
 * One delivery per active endpoint of the tenant whose filter matches the
 * event type, in one statement; endpoints that already have this event id
 * get none. Returns the deliveries created.
 */
export async function insertFanOut(db: Queryable, e: { tenantId: string; eventId: string; eventType: string; payload: string }): Promise<Delivery[]> {
  const { rows } = await db.query<Delivery>(
    `INSERT INTO deliveries (id, endpoint_id, tenant_id, event_id, event_type, payload)
     SELECT gen_random_uuid(), en.id, en.tenant_id, $2, $3, $4 FROM endpoints en
     WHERE en.tenant_id = $1 AND en.status = 'active' AND ($3 = ANY (en.event_types) OR '*' = ANY (en.event_types))
     ORDER BY en.created_at, en.id
     ON CONFLICT (endpoint_id, event_id) WHERE replay_of IS NULL DO NOTHING RETURNING ${COLUMNS}`,
    [e.tenantId, e.eventId, e.eventType, e.payload],
  );
  return rows;
}

export async function findDelivery(db: Queryable, tenantId: string, id: string): Promise<Delivery | undefined> {
  const { rows } = await db.query<Delivery>(`SELECT ${COLUMNS} FROM deliveries WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0];
}

/** What the worker needs to attempt a delivery: the row, its endpoint's URL and health, the signing secrets. */
export interface DeliveryWork {
  id: string;
  endpointId: string;
  tenantId: string;
  url: string;
  ordered: boolean;
  eventId: string;
  eventType: string;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  createdAtMs: number;
  health: EndpointHealth;
  /** Active secrets, newest first. */
  secrets: string[];
}

/** One round trip: delivery, endpoint (no lock) and active secrets. */
export async function loadDeliveryWork(db: Queryable, id: string): Promise<DeliveryWork | undefined> {
  const { rows } = await db.query<{
    id: string;
    endpointId: string;
    tenantId: string;
    url: string;
    ordered: boolean;
    eventId: string;
    eventType: string;
    payload: string;
    status: DeliveryStatus;
    attempts: number;
    createdAt: Date;
    consecutiveFailures: number;
    openUntil: Date | null;
    endpointStatus: string;
    secrets: string[];
  }>(
    `SELECT d.id, d.endpoint_id AS "endpointId", d.tenant_id AS "tenantId", e.url, e.ordered, d.event_id AS "eventId", d.event_type AS "eventType", d.payload, d.status, d.attempts,
       d.created_at AS "createdAt", e.consecutive_failures AS "consecutiveFailures", e.breaker_open_until AS "openUntil", e.status AS "endpointStatus",
       ARRAY(SELECT s.secret FROM endpoint_secrets s WHERE s.endpoint_id = e.id AND (s.expires_at IS NULL OR s.expires_at > now()) ORDER BY s.version DESC LIMIT 2) AS secrets
     FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return undefined;
  const { createdAt, consecutiveFailures, openUntil, endpointStatus, ...rest } = r;
  return { ...rest, createdAtMs: createdAt.getTime(), health: { consecutiveFailures, openUntil: openUntil?.getTime(), disabled: endpointStatus === 'disabled' } };
}

/** The tenant a delivery belongs to (read in the system context by the worker, whose job names only the delivery). */
export async function tenantOfDelivery(db: Queryable, id: string): Promise<string | undefined> {
  const { rows } = await db.query<{ tenantId: string }>({ name: 'deliveries.tenant', text: 'SELECT tenant_id AS "tenantId" FROM deliveries WHERE id = $1', values: [id] });
  return rows[0]?.tenantId;
}

/** Whether an earlier delivery of the endpoint is still pending (an ordered endpoint waits for it). */
export async function hasEarlierPending(db: Queryable, deliveryId: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM deliveries p JOIN deliveries d ON d.id = $1 WHERE p.endpoint_id = d.endpoint_id AND p.seq < d.seq AND p.status = 'pending' LIMIT 1`,
    [deliveryId],
  );
  return rows.length > 0;
}

/**
 * Records one attempt and moves the delivery, in one statement; returns
 * false when it was no longer pending (a duplicate run).
 */
export async function recordDeliveryAttempt(
  db: Queryable,
  id: string,
  a: { ok: boolean; statusCode: number | undefined; latencyMs: number; responseSnippet: string; error: string | undefined; final: boolean },
): Promise<boolean> {
  const status: DeliveryStatus = a.ok ? 'succeeded' : a.final ? 'dead' : 'pending';
  const { rows } = await db.query(
    `WITH d AS (
       UPDATE deliveries SET attempts = attempts + 1, status = $2, last_status_code = $3, last_error = $4, last_attempt_at = now(),
         finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
       WHERE id = $1 AND status = 'pending' RETURNING id, attempts, tenant_id)
     INSERT INTO delivery_attempts (delivery_id, attempt, ok, status_code, latency_ms, response_snippet, error, tenant_id)
     SELECT d.id, d.attempts, $5, $3, $6, $7, $4, d.tenant_id FROM d RETURNING attempt`,
    [id, status, a.statusCode ?? null, a.error ?? null, a.ok, a.latencyMs, a.responseSnippet],
  );
  return rows.length > 0;
}

/** Ends a pending delivery without an attempt (endpoint disabled, horizon passed while the breaker held it). */
export async function killDelivery(db: Queryable, id: string, reason: string): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE deliveries SET status = 'dead', last_error = $2, finished_at = now() WHERE id = $1 AND status = 'pending'`, [id, reason]);
  return (rowCount ?? 0) > 0;
}

export async function listAttempts(db: Queryable, deliveryId: string): Promise<DeliveryAttempt[]> {
  const { rows } = await db.query<DeliveryAttempt>(
    `SELECT attempt, ok, status_code AS "statusCode", latency_ms AS "latencyMs", response_snippet AS "responseSnippet", error, ${ts('attempted_at', 'attemptedAt')}
     FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id`,
    [deliveryId],
  );
  return rows;
}

export interface DeliveryQuery {
  tenantId: string;
  endpointId?: string;
  status?: DeliveryStatus;
  eventType?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** Keyset cursor: seq of the last row of the previous page. */
  after?: number;
}

export async function queryDeliveries(db: Queryable, q: DeliveryQuery): Promise<(Delivery & { seq: number })[]> {
  const { rows } = await db.query<Delivery & { seq: string }>(
    `SELECT ${COLUMNS}, seq FROM deliveries
     WHERE tenant_id = $1 AND ($2::uuid IS NULL OR endpoint_id = $2) AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR event_type = $4)
       AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6) AND ($7::bigint IS NULL OR seq > $7)
     ORDER BY seq LIMIT $8`,
    [q.tenantId, q.endpointId ?? null, q.status ?? null, q.eventType ?? null, q.from ?? null, q.to ?? null, q.after ?? null, q.limit],
  );
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

/** Copies deliveries as new pending rows (`replay_of` = original); returns the new ids. */
export async function replayDeliveries(db: Queryable, q: { tenantId: string; ids?: string[]; endpointId?: string; status?: DeliveryStatus; from?: Date; to?: Date; limit: number }): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO deliveries (id, endpoint_id, tenant_id, event_id, event_type, payload, replay_of)
     SELECT gen_random_uuid(), endpoint_id, tenant_id, event_id, event_type, payload, id FROM (
       SELECT * FROM deliveries
       WHERE tenant_id = $1 AND ($2::uuid[] IS NULL OR id = ANY ($2)) AND ($3::uuid IS NULL OR endpoint_id = $3) AND ($4::text IS NULL OR status = $4)
         AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6)
       ORDER BY seq LIMIT $7) src
     ORDER BY src.seq
     RETURNING id`,
    [q.tenantId, q.ids ?? null, q.endpointId ?? null, q.status ?? null, q.from ?? null, q.to ?? null, q.limit],
  );
  return rows.map((r) => r.id);
}

/** A claimed delivery; `stale` when it had been enqueued before (the claim is a reconciliation of row and queue). */
export interface ClaimedDelivery {
  id: string;
  stale: boolean;
}

/**
 * Claims pending deliveries that have no job yet (with `staleMs`, also those
 * enqueued longer ago: reconciliation with the queue) and marks them
 * enqueued; an ordered endpoint offers only its oldest pending delivery. The
 * pass is driven from the endpoints it may deliver to (active, breaker not
 * open), one index probe each, so the backlog of a disabled endpoint costs
 * nothing; an endpoint whose breaker is open gets its rows when the breaker
 * closes. Run inside a transaction: rows are locked SKIP LOCKED against other
 * replicas.
 */
export async function claimDispatchableDeliveries(db: Queryable, staleMs: number | undefined, limit: number): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<ClaimedDelivery>(claimDeliveriesSql(staleMs !== undefined), staleMs === undefined ? [limit] : [limit, staleMs]);
  return rows;
}

/**
 * The claim statement ($1 limit, $2 stale ms when `stale`); exported for the
 * plan test, which EXPLAINs it. The endpoint is matched as a range
 * (`>= e.id AND <= e.id`, the same rows) ordered by (endpoint_id, seq), which
 * only the per-endpoint indexes deliver in order: with `= e.id ORDER BY seq`
 * the planner drops the constant key and, since statistics say one endpoint
 * owns most rows, walks the global seq index through that endpoint's backlog.
 */
export function claimDeliveriesSql(stale: boolean): string {
  const waiting = (alias: string) =>
    stale ? `(${alias}.enqueued_at IS NULL OR ${alias}.enqueued_at < now() - make_interval(secs => $2::float8 / 1000))` : `${alias}.enqueued_at IS NULL`;
  return `WITH candidates AS (
       SELECT c.id, c.seq FROM endpoints e
       CROSS JOIN LATERAL (
         (SELECT p.id, p.seq, p.enqueued_at FROM deliveries p
          WHERE NOT e.ordered AND p.endpoint_id >= e.id AND p.endpoint_id <= e.id AND p.status = 'pending' AND ${waiting('p')} ORDER BY p.endpoint_id, p.seq LIMIT $1)
         UNION ALL
         (SELECT h.id, h.seq, h.enqueued_at FROM deliveries h WHERE e.ordered AND h.endpoint_id >= e.id AND h.endpoint_id <= e.id AND h.status = 'pending' ORDER BY h.endpoint_id, h.seq LIMIT 1)
       ) c
       WHERE e.status = 'active' AND (e.breaker_open_until IS NULL OR e.breaker_open_until <= now()) AND ${waiting('c')}
       ORDER BY c.seq LIMIT $1),
     claimed AS (
       SELECT d.id, d.enqueued_at IS NOT NULL AS stale FROM deliveries d
       WHERE d.id = ANY (ARRAY(SELECT id FROM candidates)) AND d.status = 'pending' AND ${waiting('d')}
       FOR UPDATE SKIP LOCKED)
     UPDATE deliveries SET enqueued_at = now() FROM claimed WHERE deliveries.id = claimed.id RETURNING deliveries.id, claimed.stale`;
}

/**
 * Pending deliveries of an endpoint that have a job (in flight, held by the
 * breaker or waiting out a backoff), oldest first: what a recovered endpoint
 * releases.
 */
export async function listEnqueuedPending(db: Queryable, endpointId: string, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM deliveries WHERE endpoint_id = $1 AND status = 'pending' AND enqueued_at IS NOT NULL ORDER BY seq LIMIT $2`,
    [endpointId, limit],
  );
  return rows.map((r) => r.id);
}

/**
 * Claims pending deliveries of an unordered active endpoint that have no job
 * yet (the breaker kept them out of the queue), oldest first, and marks them
 * enqueued: what a recovered endpoint releases after the jobs it already
 * had. SKIP LOCKED and the `enqueued_at IS NULL` check keep it apart from a
 * dispatcher pass claiming the same rows. An ordered endpoint's rows are left
 * to the pass, which offers only its head.
 */
export async function claimEndpointUndispatched(db: Queryable, endpointId: string, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string; seq: string }>(
    `WITH c AS (
       SELECT d.id FROM deliveries d
       WHERE d.endpoint_id >= $1 AND d.endpoint_id <= $1 AND d.status = 'pending' AND d.enqueued_at IS NULL
         AND EXISTS (SELECT 1 FROM endpoints e WHERE e.id = $1 AND e.status = 'active' AND NOT e.ordered)
       ORDER BY d.endpoint_id, d.seq LIMIT $2 FOR UPDATE SKIP LOCKED)
     UPDATE deliveries SET enqueued_at = now() FROM c WHERE deliveries.id = c.id RETURNING deliveries.id, deliveries.seq`,
    [endpointId, limit],
  );
  return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map((r) => r.id);
}
