/**
 * SQL of TOTP factors and recovery codes (migration 0004). A step is
 * accepted once: `acceptStep` moves last_step forward only.
 */
import type { Queryable } from '@bulwark/db';

export interface TotpFactor {
  userId: string;
  secretSealed: Buffer;
  sealedWith: string;
  confirmed: boolean;
}

interface Row {
  user_id: string;
  secret_sealed: Buffer;
  sealed_with: string;
  confirmed_at: Date | null;
}

export async function findTotpFactor(db: Queryable, userId: string): Promise<TotpFactor | undefined> {
  const { rows } = await db.query<Row>({ name: 'identity.totp_find', text: 'SELECT user_id, secret_sealed, sealed_with, confirmed_at FROM totp_factors WHERE user_id = $1', values: [userId] });
  const r = rows[0];
  return r && { userId: r.user_id, secretSealed: r.secret_sealed, sealedWith: r.sealed_with, confirmed: r.confirmed_at !== null };
}

/** Starts (or restarts) an enrolment; a confirmed factor is left alone (false). */
export async function putPendingFactor(db: Queryable, f: { userId: string; secretSealed: Buffer; sealedWith: string }): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'identity.totp_put_pending',
    text: `INSERT INTO totp_factors (user_id, secret_sealed, sealed_with) VALUES ($1, $2, $3)
           ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, sealed_with = EXCLUDED.sealed_with, last_step = NULL, created_at = now()
           WHERE totp_factors.confirmed_at IS NULL`,
    values: [f.userId, f.secretSealed, f.sealedWith],
  });
  return (rowCount ?? 0) > 0;
}

/** Records that a code of `step` was used; false when that step (or a later one) was used before. */
export async function acceptStep(db: Queryable, userId: string, step: number, confirm: boolean): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'identity.totp_accept_step',
    text: `UPDATE totp_factors SET last_step = $2, confirmed_at = CASE WHEN $3 THEN coalesce(confirmed_at, now()) ELSE confirmed_at END
           WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2) AND (confirmed_at IS NOT NULL OR $3)`,
    values: [userId, step, confirm],
  });
  return (rowCount ?? 0) > 0;
}

export async function deleteTotpFactor(db: Queryable, userId: string): Promise<void> {
  await db.query({ name: 'identity.totp_delete', text: 'DELETE FROM totp_factors WHERE user_id = $1', values: [userId] });
  await db.query({ name: 'identity.recovery_delete_all', text: 'DELETE FROM recovery_codes WHERE user_id = $1', values: [userId] });
}

export async function replaceRecoveryCodes(db: Queryable, userId: string, hashes: readonly Buffer[]): Promise<void> {
  await db.query({ name: 'identity.recovery_delete_all', text: 'DELETE FROM recovery_codes WHERE user_id = $1', values: [userId] });
  await db.query({ name: 'identity.recovery_insert', text: 'INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])', values: [userId, hashes] });
}

/** Spends a recovery code: true once per code. */
export async function useRecoveryCode(db: Queryable, userId: string, hash: Buffer): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'identity.recovery_use', text: 'UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL', values: [userId, hash] });
  return (rowCount ?? 0) > 0;
}

export async function countUnusedRecoveryCodes(db: Queryable, userId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>({ name: 'identity.recovery_count', text: 'SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL', values: [userId] });
  return rows[0]?.n ?? 0;
}

export async function tenantRequiresTotp(db: Queryable, tenantId: string): Promise<boolean> {
  const { rows } = await db.query<{ require_totp: boolean }>({ name: 'identity.tenant_requires_totp', text: 'SELECT require_totp FROM tenants WHERE id = $1', values: [tenantId] });
  return rows[0]?.require_totp ?? false;
}

export async function setTenantRequiresTotp(db: Queryable, tenantId: string, required: boolean): Promise<void> {
  await db.query({ name: 'identity.tenant_set_require_totp', text: 'UPDATE tenants SET require_totp = $2 WHERE id = $1', values: [tenantId, required] });
}
