/**
 * The database roles behind row-level security. Services run as a runtime
 * role that neither owns the tables nor bypasses RLS; migrations run as the
 * owner (a separate connection string); cross-tenant reads for reporting go
 * through a third, SELECT-only role whose every statement PostgreSQL logs
 * (`log_statement = 'all'` on the role). docs/DECISIONS.md says why.
 */
import pg from 'pg';
import { UnsafeRoleError, sqlStateOf } from './errors.ts';
import type { DbPool, Queryable } from './pool.ts';
import { withTransaction } from './transaction.ts';

/** Password of the login roles `npm run up` and the tests create; dev and tests only. */
export const DEV_ROLE_PASSWORD = 'bulwark-dev-only';

/** The platform's role names (cluster-wide, like the roles themselves). */
export const DB_ROLES = { runtime: 'bulwark_app', reporting: 'bulwark_report' } as const;

export interface EnsureRolesOptions {
  /** A connection allowed to CREATE ROLE (the owner in dev and tests). */
  ownerUrl: string;
  /** Password of both login roles; dev and tests only (a deployment provisions roles itself). */
  password: string;
}

/**
 * Creates (or brings back to shape) the runtime and reporting login roles,
 * idempotently and safely when several processes do it at once. Dev and
 * tests: `npm run up` and the test support call it.
 */
export async function ensureDbRoles(options: EnsureRolesOptions): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await createMissingRoles(options);
    } catch (err) {
      // Role DDL races across databases (the advisory lock is per database): another runner won; look again.
      if (attempt < 3 && ['42710', 'XX000', '23505'].includes(sqlStateOf(err) ?? '')) continue;
      throw err;
    }
  }
}

async function createMissingRoles(options: EnsureRolesOptions): Promise<void> {
  const client = new pg.Client({ connectionString: options.ownerUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('bulwark.db-roles'))");
    const password = pg.escapeLiteral(options.password);
    for (const role of [DB_ROLES.runtime, DB_ROLES.reporting]) {
      const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (exists.rowCount !== 0) continue;
      await client.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD ${password}`);
      if (role === DB_ROLES.reporting) {
        await client.query(`ALTER ROLE ${role} SET log_statement = 'all'`);
        await client.query(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

/** `url` with its user and password replaced (a role's URL from the owner's). */
export function urlForRole(url: string, role: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = role;
  parsed.password = password;
  return parsed.toString();
}

interface RoleRow {
  role: string;
  rolsuper: boolean;
  rolbypassrls: boolean;
}

async function roleOf(db: Queryable): Promise<RoleRow> {
  const { rows } = await db.query<RoleRow>({
    name: 'db.role',
    text: 'SELECT current_user AS role, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user',
  });
  return rows[0]!;
}

/**
 * Start-up check: the runtime pool's role must be subject to row-level
 * security (no superuser, no BYPASSRLS) and must not be the owner's role.
 * Returns the runtime role's name.
 */
export async function assertRuntimeRole(runtime: DbPool, owner: DbPool): Promise<string> {
  const [app, own] = await Promise.all([roleOf(runtime), roleOf(owner)]);
  if (app.rolsuper) throw new UnsafeRoleError(`runtime role ${app.role} is a superuser: row-level security does not apply to it`);
  if (app.rolbypassrls) throw new UnsafeRoleError(`runtime role ${app.role} has BYPASSRLS`);
  if (app.role === own.role) throw new UnsafeRoleError(`runtime role ${app.role} is the migration (owner) role: owners bypass row-level security unless forced, and may drop it`);
  return app.role;
}

export interface GrantOptions {
  /** The owner's pool (the tables' owner grants). */
  pool: DbPool;
  schema: string;
  /** Read and write on every table and sequence of the schema. */
  runtimeRole: string;
  /** SELECT on every table of the schema, when the role exists. */
  reportingRole?: string;
}

const ident = (id: string) => pg.escapeIdentifier(id);

/**
 * Grants the runtime role the data (never the DDL) of `schema`, and the
 * reporting role read access; run after migrating, idempotent.
 */
export async function grantSchemaAccess(options: GrantOptions): Promise<void> {
  const schema = ident(options.schema);
  const runtime = ident(options.runtimeRole);
  // Concurrent GRANTs on one object fail ("tuple concurrently updated"): replicas take turns.
  await withTransaction(options.pool, async (tx) => {
    await tx.query({ name: 'db.grant.lock', text: "SELECT pg_advisory_xact_lock(hashtext('bulwark.grants:' || $1))", values: [options.schema] });
    await tx.query(`GRANT USAGE ON SCHEMA ${schema} TO ${runtime}`);
    await tx.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${runtime}`);
    await tx.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${runtime}`);
    if (!options.reportingRole) return;
    const { rowCount } = await tx.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [options.reportingRole]);
    if (rowCount === 0) return;
    const reporting = ident(options.reportingRole);
    await tx.query(`GRANT USAGE ON SCHEMA ${schema} TO ${reporting}`);
    await tx.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${reporting}`);
  });
}
