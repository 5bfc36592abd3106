/**
 * SQL of the OIDC provider's state (table oidc_payloads): what the adapter
 * in oidc/adapter.ts reads and writes. A payload past its expiry is never
 * returned; housekeeping deletes such rows.
 */
import type { Queryable } from '@bulwark/db';

export interface OidcRow {
  payload: Record<string, unknown>;
  consumedAt: Date | null;
}

interface Row {
  payload: Record<string, unknown>;
  consumed_at: Date | null;
}

const toRow = (r: Row | undefined): OidcRow | undefined => (r ? { payload: r.payload, consumedAt: r.consumed_at } : undefined);
const LIVE = '(expires_at IS NULL OR expires_at > now())';

export async function upsertPayload(db: Queryable, p: { model: string; id: string; payload: Record<string, unknown>; expiresInSeconds: number | undefined }): Promise<void> {
  const { grantId, userCode, uid } = p.payload as { grantId?: string; userCode?: string; uid?: string };
  await db.query({
    name: 'identity.oidc_upsert',
    text: `INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::int) END)
           ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, user_code = EXCLUDED.user_code,
             uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
    values: [p.model, p.id, JSON.stringify(p.payload), grantId ?? null, userCode ?? null, uid ?? null, p.expiresInSeconds ?? null],
  });
}

export async function findPayload(db: Queryable, model: string, id: string): Promise<OidcRow | undefined> {
  const { rows } = await db.query<Row>({ name: 'identity.oidc_find', text: `SELECT payload, consumed_at FROM oidc_payloads WHERE model = $1 AND id = $2 AND ${LIVE}`, values: [model, id] });
  return toRow(rows[0]);
}

export async function findPayloadByUid(db: Queryable, model: string, uid: string): Promise<OidcRow | undefined> {
  const { rows } = await db.query<Row>({ name: 'identity.oidc_find_uid', text: `SELECT payload, consumed_at FROM oidc_payloads WHERE model = $1 AND uid = $2 AND ${LIVE}`, values: [model, uid] });
  return toRow(rows[0]);
}

export async function findPayloadByUserCode(db: Queryable, model: string, userCode: string): Promise<OidcRow | undefined> {
  const { rows } = await db.query<Row>({ name: 'identity.oidc_find_user_code', text: `SELECT payload, consumed_at FROM oidc_payloads WHERE model = $1 AND user_code = $2 AND ${LIVE}`, values: [model, userCode] });
  return toRow(rows[0]);
}

/** Marks a payload consumed (authorization codes, rotated refresh tokens); the first consumer wins. */
export async function consumePayload(db: Queryable, model: string, id: string): Promise<void> {
  await db.query({ name: 'identity.oidc_consume', text: 'UPDATE oidc_payloads SET consumed_at = now() WHERE model = $1 AND id = $2 AND consumed_at IS NULL', values: [model, id] });
}

export async function destroyPayload(db: Queryable, model: string, id: string): Promise<void> {
  await db.query({ name: 'identity.oidc_destroy', text: 'DELETE FROM oidc_payloads WHERE model = $1 AND id = $2', values: [model, id] });
}

/** Removes every token of a grant (any model), e.g. when an authorization code is replayed. */
export async function revokeGrant(db: Queryable, grantId: string): Promise<void> {
  await db.query({ name: 'identity.oidc_revoke_grant', text: 'DELETE FROM oidc_payloads WHERE grant_id = $1', values: [grantId] });
}

/** Removes every OIDC row of the account: provider sessions, grants, codes, access and refresh tokens. */
export async function revokeAccountPayloads(db: Queryable, accountId: string): Promise<number> {
  const { rowCount } = await db.query({ name: 'identity.oidc_revoke_account', text: "DELETE FROM oidc_payloads WHERE payload ? 'accountId' AND payload ->> 'accountId' = $1", values: [accountId] });
  return rowCount ?? 0;
}

export async function deleteExpiredPayloads(db: Queryable, afterSeconds: number, batch = 1000): Promise<number> {
  const { rowCount } = await db.query({
    name: 'identity.oidc_delete_expired',
    text: `DELETE FROM oidc_payloads WHERE (model, id) IN (SELECT model, id FROM oidc_payloads WHERE expires_at < now() - make_interval(secs => $1) LIMIT $2)`,
    values: [afterSeconds, batch],
  });
  return rowCount ?? 0;
}
