/**
 * SQL of organisations (the tenants), their members (the tenant's accounts
 * with org_role) and invitations. Every statement about members or
 * invitations names the tenant, so a caller's organisation bounds what it
 * reaches.
 */
import type { Queryable } from '@bulwark/db';

export type OrgRole = 'owner' | 'admin' | 'member';

export interface Organization {
  id: string;
  slug: string;
  name: string;
  requireTotp: boolean;
  members: number;
}

export interface Member {
  userId: string;
  email: string;
  displayName: string | null;
  role: OrgRole;
  emailVerified: boolean;
  createdAt: string;
}

export interface Invitation {
  id: string;
  tenantId: string;
  email: string;
  role: OrgRole;
  expiresAt: Date;
  createdAt: Date;
}

export async function insertOrganization(db: Queryable, o: { id: string; slug: string; name: string }): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'identity.org_insert', text: 'INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING', values: [o.id, o.slug, o.name] });
  return (rowCount ?? 0) > 0;
}

export async function findOrganization(db: Queryable, id: string): Promise<Organization | undefined> {
  const { rows } = await db.query<{ id: string; slug: string; name: string; require_totp: boolean; members: number }>({
    name: 'identity.org_find',
    text: 'SELECT t.id, t.slug, t.name, t.require_totp, (SELECT count(*)::int FROM users u WHERE u.tenant_id = t.id) AS members FROM tenants t WHERE t.id = $1',
    values: [id],
  });
  const r = rows[0];
  return r && { id: r.id, slug: r.slug, name: r.name, requireTotp: r.require_totp, members: r.members };
}

export async function updateOrganization(db: Queryable, id: string, patch: { name?: string | undefined; requireTotp?: boolean | undefined }): Promise<void> {
  await db.query({
    name: 'identity.org_update',
    text: 'UPDATE tenants SET name = coalesce($2, name), require_totp = coalesce($3, require_totp) WHERE id = $1',
    values: [id, patch.name ?? null, patch.requireTotp ?? null],
  });
}

/** The caller's role in the organisation, read fresh (not from the token); undefined when not a member. */
export async function memberRole(db: Queryable, tenantId: string, userId: string): Promise<OrgRole | undefined> {
  const { rows } = await db.query<{ org_role: OrgRole }>({ name: 'identity.org_member_role', text: 'SELECT org_role FROM users WHERE id = $1 AND tenant_id = $2', values: [userId, tenantId] });
  return rows[0]?.org_role;
}

export async function listMembers(db: Queryable, tenantId: string): Promise<Member[]> {
  const { rows } = await db.query<{ id: string; email: string; display_name: string | null; org_role: OrgRole; email_verified: boolean; created_at: Date }>({
    name: 'identity.org_members',
    text: 'SELECT id, email, display_name, org_role, email_verified, created_at FROM users WHERE tenant_id = $1 ORDER BY created_at, id LIMIT 1000',
    values: [tenantId],
  });
  return rows.map((r) => ({ userId: r.id, email: r.email, displayName: r.display_name, role: r.org_role, emailVerified: r.email_verified, createdAt: r.created_at.toISOString() }));
}

/** Locks the organisation's owners (FOR UPDATE) and counts them: the last owner is never demoted. */
export async function lockOwners(tx: Queryable, tenantId: string): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>({ name: 'identity.org_lock_owners', text: "SELECT id FROM users WHERE tenant_id = $1 AND org_role = 'owner' FOR UPDATE", values: [tenantId] });
  return rows.map((r) => r.id);
}

export async function setMemberRole(db: Queryable, tenantId: string, userId: string, role: OrgRole): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'identity.org_set_role', text: 'UPDATE users SET org_role = $3, updated_at = now() WHERE id = $2 AND tenant_id = $1', values: [tenantId, userId, role] });
  return (rowCount ?? 0) > 0;
}

/** Revokes the pending invitation of the address (if any) and records the new one. */
export async function insertInvitation(tx: Queryable, i: { id: string; tenantId: string; email: string; role: OrgRole; tokenHash: Buffer; invitedBy: string; ttlSeconds: number }): Promise<Invitation> {
  await tx.query({
    name: 'identity.invitation_revoke_pending',
    text: 'UPDATE invitations SET revoked_at = now() WHERE tenant_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL',
    values: [i.tenantId, i.email],
  });
  const { rows } = await tx.query<{ expires_at: Date; created_at: Date }>({
    name: 'identity.invitation_insert',
    text: `INSERT INTO invitations (id, tenant_id, email, org_role, token_hash, invited_by, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7)) RETURNING expires_at, created_at`,
    values: [i.id, i.tenantId, i.email, i.role, i.tokenHash, i.invitedBy, i.ttlSeconds],
  });
  return { id: i.id, tenantId: i.tenantId, email: i.email, role: i.role, expiresAt: rows[0]!.expires_at, createdAt: rows[0]!.created_at };
}

export async function listPendingInvitations(db: Queryable, tenantId: string): Promise<Invitation[]> {
  const { rows } = await db.query<{ id: string; tenant_id: string; email: string; org_role: OrgRole; expires_at: Date; created_at: Date }>({
    name: 'identity.invitations_pending',
    text: 'SELECT id, tenant_id, email, org_role, expires_at, created_at FROM invitations WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at LIMIT 1000',
    values: [tenantId],
  });
  return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, email: r.email, role: r.org_role, expiresAt: r.expires_at, createdAt: r.created_at }));
}

export async function revokeInvitation(db: Queryable, tenantId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'identity.invitation_revoke',
    text: 'UPDATE invitations SET revoked_at = now() WHERE id = $2 AND tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL',
    values: [tenantId, id],
  });
  return (rowCount ?? 0) > 0;
}

/** The organisation an invitation token belongs to (read in the system context: the token is all the caller has). */
export async function tenantOfInvitation(db: Queryable, tokenHash: Buffer): Promise<string | undefined> {
  const { rows } = await db.query<{ tenant_id: string }>({ name: 'identity.invitation_tenant', text: 'SELECT tenant_id FROM invitations WHERE token_hash = $1', values: [tokenHash] });
  return rows[0]?.tenant_id;
}

/** Spends a live invitation (single use, unexpired, not revoked) in `tx`; undefined otherwise. */
export async function acceptInvitation(tx: Queryable, tokenHash: Buffer): Promise<Invitation | undefined> {
  const { rows } = await tx.query<{ id: string; tenant_id: string; email: string; org_role: OrgRole; expires_at: Date; created_at: Date }>({
    name: 'identity.invitation_accept',
    text: `UPDATE invitations SET accepted_at = now() WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
           RETURNING id, tenant_id, email, org_role, expires_at, created_at`,
    values: [tokenHash],
  });
  const r = rows[0];
  return r && { id: r.id, tenantId: r.tenant_id, email: r.email, role: r.org_role, expiresAt: r.expires_at, createdAt: r.created_at };
}
