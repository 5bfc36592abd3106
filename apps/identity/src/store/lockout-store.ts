/**
 * SQL of the login lockout: one row per (tenant, email, client IP) with its
 * consecutive failures and lock. Times are judged on the database clock.
 */
import type { Queryable } from '@bulwark/db';

export interface LockoutKey {
  tenantId: string;
  email: string;
  source: string;
}

/** ms until the pair's lock ends (0 when not locked). */
export async function lockRemainingMs(db: Queryable, k: LockoutKey): Promise<number> {
  const { rows } = await db.query<{ ms: number }>({
    name: 'identity.lock_remaining',
    text: `SELECT greatest(0, ceil(extract(epoch FROM locked_until - now()) * 1000))::float8 AS ms FROM login_lockouts WHERE tenant_id = $1 AND email = $2 AND source = $3`,
    values: [k.tenantId, k.email, k.source],
  });
  return rows[0]?.ms ?? 0;
}

/** Counts a failure; returns the pair's consecutive failures including this one. */
export async function recordFailure(db: Queryable, k: LockoutKey): Promise<number> {
  const { rows } = await db.query<{ failures: number }>({
    name: 'identity.record_failure',
    text: `INSERT INTO login_lockouts (tenant_id, email, source, failures) VALUES ($1, $2, $3, 1)
           ON CONFLICT (tenant_id, email, source) DO UPDATE SET failures = login_lockouts.failures + 1, last_failure_at = now()
           RETURNING failures`,
    values: [k.tenantId, k.email, k.source],
  });
  return rows[0]!.failures;
}

export async function lockFor(db: Queryable, k: LockoutKey, seconds: number): Promise<void> {
  await db.query({
    name: 'identity.lock_for',
    text: 'UPDATE login_lockouts SET locked_until = now() + make_interval(secs => $4) WHERE tenant_id = $1 AND email = $2 AND source = $3',
    values: [k.tenantId, k.email, k.source, seconds],
  });
}

export async function forgetPair(db: Queryable, k: LockoutKey): Promise<void> {
  await db.query({ name: 'identity.forget_pair', text: 'DELETE FROM login_lockouts WHERE tenant_id = $1 AND email = $2 AND source = $3', values: [k.tenantId, k.email, k.source] });
}

/** A password reset lifts every lock of the account. */
export async function forgetAccount(db: Queryable, tenantId: string, email: string): Promise<void> {
  await db.query({ name: 'identity.forget_account', text: 'DELETE FROM login_lockouts WHERE tenant_id = $1 AND email = $2', values: [tenantId, email] });
}

/** Rows whose last failure is older than `afterSeconds` and that are not locked: their count no longer matters. */
export async function deleteStaleLockouts(db: Queryable, afterSeconds: number, batch = 1000): Promise<number> {
  const { rowCount } = await db.query({
    name: 'identity.delete_stale_lockouts',
    text: `DELETE FROM login_lockouts WHERE ctid IN (SELECT ctid FROM login_lockouts WHERE last_failure_at < now() - make_interval(secs => $1) AND (locked_until IS NULL OR locked_until < now()) LIMIT $2)`,
    values: [afterSeconds, batch],
  });
  return rowCount ?? 0;
}
