/**
 * SQL of secrets, versions and policies; plain rows out. Every function runs
 * in the caller's transaction and tenant (row-level security scopes it).
 */
import type { Queryable } from '@bulwark/db';

export interface VersionRow {
  name: string;
  version: number;
  ciphertext: Buffer;
  wrappedKey: Buffer;
  kekVersion: number;
  createdBy: string;
  createdAt: Date;
  disabledAt: Date | null;
}

const VERSION_COLUMNS = 'name, version, ciphertext, wrapped_key AS "wrappedKey", kek_version AS "kekVersion", created_by AS "createdBy", created_at AS "createdAt", disabled_at AS "disabledAt"';

/** Takes the next version number of `name` (creating the secret), locking the secret row until commit. */
export async function nextVersion(tx: Queryable, name: string): Promise<number> {
  const { rows } = await tx.query<{ v: number }>({
    name: 'secrets.next-version',
    text: `INSERT INTO secrets (name, latest_version) VALUES ($1, 1)
           ON CONFLICT (tenant_id, name) DO UPDATE SET latest_version = secrets.latest_version + 1
           RETURNING latest_version AS v`,
    values: [name],
  });
  return rows[0]!.v;
}

export async function insertVersion(tx: Queryable, row: Omit<VersionRow, 'createdAt' | 'disabledAt'>): Promise<Date> {
  const { rows } = await tx.query<{ createdAt: Date }>({
    name: 'secrets.insert-version',
    text: 'INSERT INTO secret_versions (name, version, ciphertext, wrapped_key, kek_version, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at AS "createdAt"',
    values: [row.name, row.version, row.ciphertext, row.wrappedKey, row.kekVersion, row.createdBy],
  });
  return rows[0]!.createdAt;
}

/** One version, or the latest when `version` is undefined. */
export async function findVersion(db: Queryable, name: string, version: number | undefined): Promise<VersionRow | undefined> {
  const { rows } =
    version === undefined
      ? await db.query<VersionRow>({ name: 'secrets.latest', text: `SELECT ${VERSION_COLUMNS} FROM secret_versions WHERE name = $1 AND version = (SELECT latest_version FROM secrets WHERE name = $1)`, values: [name] })
      : await db.query<VersionRow>({ name: 'secrets.version', text: `SELECT ${VERSION_COLUMNS} FROM secret_versions WHERE name = $1 AND version = $2`, values: [name, version] });
  return rows[0];
}

export async function listVersions(db: Queryable, name: string): Promise<VersionRow[]> {
  const { rows } = await db.query<VersionRow>({ name: 'secrets.versions', text: `SELECT ${VERSION_COLUMNS} FROM secret_versions WHERE name = $1 ORDER BY version DESC`, values: [name] });
  return rows;
}

/** Disables a version; false when there is no such version. Disabling twice keeps the first time. */
export async function disableVersion(tx: Queryable, name: string, version: number, actor: string): Promise<boolean> {
  const { rowCount } = await tx.query({
    name: 'secrets.disable',
    text: 'UPDATE secret_versions SET disabled_at = COALESCE(disabled_at, now()), disabled_by = COALESCE(disabled_by, $3) WHERE name = $1 AND version = $2',
    values: [name, version, actor],
  });
  return rowCount === 1;
}

export async function policyPatterns(db: Queryable, clientId: string): Promise<string[]> {
  const { rows } = await db.query<{ patterns: string[] }>({ name: 'secrets.policy', text: 'SELECT patterns FROM access_policies WHERE client_id = $1', values: [clientId] });
  return rows[0]?.patterns ?? [];
}

export async function putPolicy(tx: Queryable, clientId: string, patterns: readonly string[], actor: string): Promise<void> {
  await tx.query({
    name: 'secrets.put-policy',
    text: `INSERT INTO access_policies (client_id, patterns, updated_by) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, client_id) DO UPDATE SET patterns = EXCLUDED.patterns, updated_by = EXCLUDED.updated_by, updated_at = now()`,
    values: [clientId, patterns, actor],
  });
}

export async function listPolicies(db: Queryable): Promise<Array<{ clientId: string; patterns: string[]; updatedBy: string; updatedAt: Date }>> {
  const { rows } = await db.query<{ clientId: string; patterns: string[]; updatedBy: string; updatedAt: Date }>({
    name: 'secrets.policies',
    text: 'SELECT client_id AS "clientId", patterns, updated_by AS "updatedBy", updated_at AS "updatedAt" FROM access_policies ORDER BY client_id',
  });
  return rows;
}

export interface WrappedKeyRow {
  tenantId: string;
  name: string;
  version: number;
  wrappedKey: Buffer;
  kekVersion: number;
}

/** A batch of data keys not under `activeKek`, locked (SKIP LOCKED: replicas share the re-wrap). System context. */
export async function claimStaleKeys(tx: Queryable, activeKek: number, limit: number): Promise<WrappedKeyRow[]> {
  const { rows } = await tx.query<WrappedKeyRow>({
    name: 'secrets.claim-stale-keys',
    text: `SELECT tenant_id AS "tenantId", name, version, wrapped_key AS "wrappedKey", kek_version AS "kekVersion" FROM secret_versions
           WHERE kek_version <> $1 ORDER BY tenant_id, name, version LIMIT $2 FOR UPDATE SKIP LOCKED`,
    values: [activeKek, limit],
  });
  return rows;
}

export async function storeRewrapped(tx: Queryable, rows: ReadonlyArray<Pick<WrappedKeyRow, 'tenantId' | 'name' | 'version' | 'wrappedKey' | 'kekVersion'>>): Promise<void> {
  if (rows.length === 0) return;
  await tx.query({
    name: 'secrets.store-rewrapped',
    text: `UPDATE secret_versions v SET wrapped_key = u.wrapped_key, kek_version = u.kek_version
           FROM unnest($1::text[], $2::text[], $3::int[], $4::bytea[], $5::int[]) AS u(tenant_id, name, version, wrapped_key, kek_version)
           WHERE v.tenant_id = u.tenant_id AND v.name = u.name AND v.version = u.version`,
    values: [rows.map((r) => r.tenantId), rows.map((r) => r.name), rows.map((r) => r.version), rows.map((r) => r.wrappedKey), rows.map((r) => r.kekVersion)],
  });
}

/** Data keys per KEK version (system context): the gauge of what a rotation still has to re-wrap. */
export async function keysByKek(db: Queryable): Promise<Map<number, number>> {
  const { rows } = await db.query<{ kek: number; n: number }>({ name: 'secrets.keys-by-kek', text: 'SELECT kek_version AS kek, count(*)::int AS n FROM secret_versions GROUP BY kek_version' });
  return new Map(rows.map((r) => [r.kek, r.n]));
}
