/**
 * SQL of webhook endpoints and their secrets, parameterised, returning plain
 * objects. Secrets leave the database only for signing (the delivery worker's
 * load) and at creation/rotation; listings never carry them.
 */
import type { Queryable } from '@bulwark/db';
import type { EndpointHealth } from '../domain/endpoint-breaker.ts';

export interface Endpoint {
  id: string;
  tenantId: string;
  url: string;
  description: string;
  eventTypes: string[];
  ordered: boolean;
  status: 'active' | 'disabled';
  disabledReason: string | null;
  disabledAt: string | null;
  consecutiveFailures: number;
  breakerOpenUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

const ts = (col: string, as: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "${as}"`;

const COLUMNS = `id, tenant_id AS "tenantId", url, description, event_types AS "eventTypes", ordered, status, disabled_reason AS "disabledReason",
  ${ts('disabled_at', 'disabledAt')}, consecutive_failures AS "consecutiveFailures", ${ts('breaker_open_until', 'breakerOpenUntil')},
  ${ts('created_at', 'createdAt')}, ${ts('updated_at', 'updatedAt')}`;

export async function insertEndpoint(db: Queryable, e: { id: string; tenantId: string; url: string; description: string; eventTypes: string[]; ordered: boolean; secret: string }): Promise<Endpoint> {
  const { rows } = await db.query<Endpoint>(
    `INSERT INTO endpoints (id, tenant_id, url, description, event_types, ordered) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [e.id, e.tenantId, e.url, e.description, e.eventTypes, e.ordered],
  );
  await db.query(`INSERT INTO endpoint_secrets (endpoint_id, version, secret) VALUES ($1, 1, $2)`, [e.id, e.secret]);
  return rows[0]!;
}

export async function findEndpoint(db: Queryable, tenantId: string, id: string, forUpdate = false): Promise<Endpoint | undefined> {
  const { rows } = await db.query<Endpoint>(`SELECT ${COLUMNS} FROM endpoints WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  return rows[0];
}

export async function listEndpoints(db: Queryable, tenantId: string): Promise<Endpoint[]> {
  const { rows } = await db.query<Endpoint>(`SELECT ${COLUMNS} FROM endpoints WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
  return rows;
}

export async function updateEndpoint(db: Queryable, tenantId: string, id: string, patch: { url?: string; description?: string; eventTypes?: string[]; ordered?: boolean }): Promise<Endpoint | undefined> {
  const { rows } = await db.query<Endpoint>(
    `UPDATE endpoints SET url = COALESCE($3, url), description = COALESCE($4, description), event_types = COALESCE($5, event_types), ordered = COALESCE($6, ordered), updated_at = now()
     WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [tenantId, id, patch.url ?? null, patch.description ?? null, patch.eventTypes ?? null, patch.ordered ?? null],
  );
  return rows[0];
}

/**
 * Before a fan-out: KEY SHARE locks on the tenant's endpoints whose filter
 * matches `eventType`, disabled ones included, so the fan-out and an enable
 * (which holds the endpoint FOR UPDATE while it recovers the event log)
 * serialise: either the enable commits first and the fan-out, a later
 * statement, sees the endpoint active, or the publisher commits first and
 * the enable's recovery sees its event. Without it an event whose fan-out
 * saw the endpoint disabled but which committed after the enable's scan got
 * no delivery at all. KEY SHARE does not conflict with the workers' health
 * updates (NO KEY UPDATE); the deliveries' foreign key takes it anyway on
 * the active ones.
 */
export async function lockEndpointsForFanOut(db: Queryable, tenantId: string, eventType: string): Promise<void> {
  await db.query(`SELECT 1 FROM endpoints WHERE tenant_id = $1 AND ($2 = ANY (event_types) OR '*' = ANY (event_types)) ORDER BY id FOR KEY SHARE`, [tenantId, eventType]);
}

/** Disables (with a reason) or enables (health reset) an endpoint. */
export async function setEndpointStatus(db: Queryable, tenantId: string, id: string, status: 'active' | 'disabled', reason?: string): Promise<Endpoint | undefined> {
  const { rows } = await db.query<Endpoint>(
    status === 'disabled'
      ? `UPDATE endpoints SET status = 'disabled', disabled_reason = $3, disabled_at = now(), breaker_open_until = NULL, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`
      : `UPDATE endpoints SET status = 'active', disabled_reason = NULL, disabled_at = NULL, consecutive_failures = 0, breaker_open_until = NULL, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    status === 'disabled' ? [tenantId, id, reason ?? 'disabled by an operator'] : [tenantId, id],
  );
  return rows[0];
}

/**
 * Adds a new current secret; the previous current one keeps signing for
 * `graceSeconds`, any older one stops now (never more than two active).
 * Call inside a transaction holding the endpoint's row lock.
 */
export async function rotateSecret(db: Queryable, endpointId: string, secret: string, graceSeconds: number): Promise<{ version: number; previousExpiresAt: string | null }> {
  const { rows } = await db.query<{ version: number }>(`SELECT COALESCE(max(version), 0) AS version FROM endpoint_secrets WHERE endpoint_id = $1`, [endpointId]);
  const current = rows[0]!.version;
  await db.query(`UPDATE endpoint_secrets SET expires_at = now() WHERE endpoint_id = $1 AND version < $2 AND (expires_at IS NULL OR expires_at > now())`, [endpointId, current]);
  const prev = await db.query<{ expiresAt: string }>(
    `UPDATE endpoint_secrets SET expires_at = now() + make_interval(secs => $3) WHERE endpoint_id = $1 AND version = $2 RETURNING ${ts('expires_at', 'expiresAt')}`,
    [endpointId, current, graceSeconds],
  );
  await db.query(`INSERT INTO endpoint_secrets (endpoint_id, version, secret) VALUES ($1, $2, $3)`, [endpointId, current + 1, secret]);
  return { version: current + 1, previousExpiresAt: prev.rows[0]?.expiresAt ?? null };
}

/** Locks the endpoint row (by id only: the worker knows no tenant) and returns its health. */
export async function lockEndpointHealth(db: Queryable, id: string): Promise<(EndpointHealth & { tenantId: string }) | undefined> {
  const { rows } = await db.query<{ tenantId: string; consecutiveFailures: number; openUntil: Date | null; status: string }>(
    `SELECT tenant_id AS "tenantId", consecutive_failures AS "consecutiveFailures", breaker_open_until AS "openUntil", status FROM endpoints WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const r = rows[0];
  if (!r) return undefined;
  return { tenantId: r.tenantId, consecutiveFailures: r.consecutiveFailures, openUntil: r.openUntil?.getTime(), disabled: r.status === 'disabled' };
}

/**
 * After a success: clears a failure count or an open breaker. Touches (and
 * locks) the row only when there is something to clear, so successful
 * deliveries to a healthy endpoint never contend on its row.
 */
export async function clearEndpointFailures(db: Queryable, id: string): Promise<void> {
  await db.query(`UPDATE endpoints SET consecutive_failures = 0, breaker_open_until = NULL, updated_at = now() WHERE id = $1 AND status = 'active' AND (consecutive_failures > 0 OR breaker_open_until IS NOT NULL)`, [id]);
}

export async function saveEndpointHealth(db: Queryable, id: string, health: EndpointHealth, disabledReason?: string): Promise<void> {
  await db.query(
    `UPDATE endpoints SET consecutive_failures = $2, breaker_open_until = $3,
       status = CASE WHEN $4 THEN 'disabled' ELSE status END,
       disabled_reason = CASE WHEN $4 AND status = 'active' THEN $5 ELSE disabled_reason END,
       disabled_at = CASE WHEN $4 AND status = 'active' THEN now() ELSE disabled_at END,
       updated_at = now()
     WHERE id = $1`,
    [id, health.consecutiveFailures, health.openUntil === undefined ? null : new Date(health.openUntil), health.disabled, disabledReason ?? null],
  );
}

/**
 * Half-open breaker: the first delivery after the cool-down takes the probe by
 * pushing the breaker's end `windowMs` past `nowMs` (one statement, so
 * replicas agree on a single probe); the others hold until the probe's
 * verdict. Times are the caller's clock, like the cool-down it set.
 */
export async function claimBreakerProbe(db: Queryable, id: string, nowMs: number, windowMs: number): Promise<{ probe: boolean; openUntil: number | undefined }> {
  const { rows } = await db.query<{ probe: boolean; openUntil: Date | null }>(
    `WITH claim AS (
       UPDATE endpoints SET breaker_open_until = to_timestamp(($2::float8 + $3::float8) / 1000)
       WHERE id = $1 AND breaker_open_until <= to_timestamp($2::float8 / 1000) RETURNING breaker_open_until)
     SELECT EXISTS (SELECT 1 FROM claim) AS probe,
       COALESCE((SELECT breaker_open_until FROM claim), (SELECT breaker_open_until FROM endpoints WHERE id = $1)) AS "openUntil"`,
    [id, nowMs, windowMs],
  );
  const r = rows[0]!;
  return { probe: r.probe, openUntil: r.openUntil?.getTime() };
}
