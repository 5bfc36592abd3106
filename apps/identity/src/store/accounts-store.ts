/**
 * SQL of tenants and accounts; plain objects out, parameterised statements
 * only. Emails arrive already normalised (domain/accounts.ts).
 */
import type { Queryable } from '@bulwark/db';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
}

export interface User {
  id: string;
  tenantId: string;
  email: string;
  emailVerified: boolean;
  passwordHash: string;
  displayName: string | null;
  roles: string[];
  createdAt: string;
}

interface UserRow {
  id: string;
  tenant_id: string;
  email: string;
  email_verified: boolean;
  password_hash: string;
  display_name: string | null;
  roles: string[];
  created_at: Date;
}

const USER_COLUMNS = 'id, tenant_id, email, email_verified, password_hash, display_name, roles, created_at';

const toUser = (r: UserRow): User => ({
  id: r.id,
  tenantId: r.tenant_id,
  email: r.email,
  emailVerified: r.email_verified,
  passwordHash: r.password_hash,
  displayName: r.display_name,
  roles: r.roles,
  createdAt: r.created_at.toISOString(),
});

/** Creates the tenant unless its slug exists; the name of an existing tenant is left alone. */
export async function ensureTenant(db: Queryable, tenant: Tenant): Promise<void> {
  await db.query({ name: 'identity.ensure_tenant', text: 'INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING', values: [tenant.id, tenant.slug, tenant.name] });
}

export async function findTenantBySlug(db: Queryable, slug: string): Promise<Tenant | undefined> {
  const { rows } = await db.query<Tenant>({ name: 'identity.tenant_by_slug', text: 'SELECT id, slug, name FROM tenants WHERE slug = $1', values: [slug] });
  return rows[0];
}

export async function findTenantById(db: Queryable, id: string): Promise<Tenant | undefined> {
  const { rows } = await db.query<Tenant>({ name: 'identity.tenant_by_id', text: 'SELECT id, slug, name FROM tenants WHERE id = $1', values: [id] });
  return rows[0];
}

/**
 * Inserts the account; undefined when the tenant already has one with this
 * email. Its organisation role is `orgRole`, else admin for accounts with the
 * admin roles and member for the rest.
 */
export async function insertUser(db: Queryable, u: { id: string; tenantId: string; email: string; passwordHash: string; displayName: string | null; roles: readonly string[]; orgRole?: string; emailVerified?: boolean }): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>({
    name: 'identity.insert_user',
    text: `INSERT INTO users (id, tenant_id, email, password_hash, display_name, roles, org_role, email_verified)
           VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, CASE WHEN 'admin' = ANY ($6::text[]) THEN 'admin' ELSE 'member' END), $8)
           ON CONFLICT ON CONSTRAINT users_tenant_email_key DO NOTHING RETURNING ${USER_COLUMNS}`,
    values: [u.id, u.tenantId, u.email, u.passwordHash, u.displayName, u.roles, u.orgRole ?? null, u.emailVerified ?? false],
  });
  return rows[0] && toUser(rows[0]);
}

export async function findUserByEmail(db: Queryable, tenantId: string, email: string): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>({ name: 'identity.user_by_email', text: `SELECT ${USER_COLUMNS} FROM users WHERE tenant_id = $1 AND email = $2`, values: [tenantId, email] });
  return rows[0] && toUser(rows[0]);
}

export async function findUserById(db: Queryable, id: string): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>({ name: 'identity.user_by_id', text: `SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, values: [id] });
  return rows[0] && toUser(rows[0]);
}

export async function markEmailVerified(db: Queryable, userId: string): Promise<void> {
  await db.query({ name: 'identity.mark_verified', text: 'UPDATE users SET email_verified = true, updated_at = now() WHERE id = $1', values: [userId] });
}

export async function setPasswordHash(db: Queryable, userId: string, passwordHash: string, verifiesEmail: boolean): Promise<void> {
  await db.query({
    name: 'identity.set_password',
    text: 'UPDATE users SET password_hash = $2, password_changed_at = now(), email_verified = email_verified OR $3, updated_at = now() WHERE id = $1',
    values: [userId, passwordHash, verifiesEmail],
  });
}

/** Replaces a hash made with older argon2 parameters, unless the password changed meanwhile. */
export async function upgradePasswordHash(db: Queryable, userId: string, oldHash: string, newHash: string): Promise<void> {
  await db.query({ name: 'identity.upgrade_hash', text: 'UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2', values: [userId, oldHash, newHash] });
}

export async function updateProfile(db: Queryable, userId: string, patch: { displayName?: string | null }): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>({
    name: 'identity.update_profile',
    text: `UPDATE users SET display_name = CASE WHEN $2 THEN $3 ELSE display_name END, updated_at = now() WHERE id = $1 RETURNING ${USER_COLUMNS}`,
    values: [userId, patch.displayName !== undefined, patch.displayName ?? null],
  });
  return rows[0] && toUser(rows[0]);
}
