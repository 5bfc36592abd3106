/**
 * Applies migrations under a PostgreSQL advisory lock, so any number of
 * runners (one per replica, say) can start together and each migration is
 * applied exactly once. Runs on one dedicated connection: take the session
 * lock, create the bookkeeping table, plan, apply each migration with its
 * record in its own transaction, unlock, and close the connection.
 */
import { MigrationError, sqlStateOf } from '../errors.ts';
import { poolInternals, type DbClient, type DbPool } from '../pool.ts';
import { loadMigrations, type MigrationFile } from './files.ts';
import { refreshTenantPoliciesSql, tenantRlsFunctionSql } from './tenant-rls.ts';
import { compareMigrations, planMigrations, type AppliedRecord, type MigratePhase, type MigrationStatus } from './plan.ts';

export interface MigrationTarget {
  pool: DbPool;
  /** Directory of `NNNN_name.(expand|contract).sql` files. */
  dir: string;
  /** Schema for the bookkeeping table and the migrations' search_path; default 'public'. */
  schema?: string;
  /** Bookkeeping table; default 'schema_migrations'. */
  table?: string;
}

export interface MigrateOptions extends MigrationTarget {
  /** Which migrations to apply: 'expand' before rollout, 'contract' after, 'all' for dev and tests. */
  phase: MigratePhase;
  /** How long to wait for another runner's lock; default 60 s. */
  lockTimeoutMs?: number;
  /** statement_timeout while migrating; default 0 (none). */
  statementTimeoutMs?: number;
}

export interface AppliedMigration {
  version: number;
  name: string;
  phase: string;
  file: string;
  durationMs: number;
}

export interface MigrateResult {
  /** Applied by this runner (empty when another runner got there first). */
  applied: AppliedMigration[];
}

const LOCK_CLASS = 0x42776d67; // 'Bwmg': our advisory-lock namespace

/** 32-bit FNV-1a of the table's qualified name, as a signed int4. */
function lockKey(qualified: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(qualified, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash | 0;
}

function quoteIdent(id: string): string {
  return `"${id.replaceAll('"', '""')}"`;
}

function names(target: MigrationTarget): { schema: string; qualified: string; searchPath: string } {
  const schema = target.schema ?? 'public';
  const qualified = `${quoteIdent(schema)}.${quoteIdent(target.table ?? 'schema_migrations')}`;
  const searchPath = schema === 'public' ? 'public' : `${quoteIdent(schema)}, public`;
  return { schema, qualified, searchPath };
}

async function readApplied(client: DbClient, qualified: string): Promise<AppliedRecord[]> {
  const found = await client.query<{ t: string | null }>({ name: 'migrate.exists', text: 'SELECT to_regclass($1)::text AS t', values: [qualified] });
  if (found.rows[0]?.t == null) return [];
  const { rows } = await client.query<{ version: number; name: string; phase: string; checksum: string; applied_at: Date }>({
    name: 'migrate.applied',
    text: `SELECT version, name, phase, checksum, applied_at FROM ${qualified} ORDER BY version`,
  });
  return rows.map((r) => ({ version: r.version, name: r.name, phase: r.phase, checksum: r.checksum, appliedAt: r.applied_at }));
}

async function applyOne(client: DbClient, m: MigrationFile, qualified: string, searchPath: string): Promise<number> {
  const started = performance.now();
  const record = {
    name: 'migrate.record',
    text: `INSERT INTO ${qualified} (version, name, phase, checksum, duration_ms) VALUES ($1, $2, $3, $4, $5)`,
  };
  const values = (ms: number) => [m.version, m.name, m.phase, m.checksum, Math.round(ms)];
  if (m.transactional) {
    await client.query('BEGIN');
    try {
      await client.query(`SET LOCAL search_path TO ${searchPath}`);
      await client.query({ name: 'migrate.apply', text: m.sql });
      await client.query({ ...record, values: values(performance.now() - started) });
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } else {
    await client.query(`SET search_path TO ${searchPath}`);
    try {
      await client.query({ name: 'migrate.apply', text: m.sql });
    } finally {
      await client.query('RESET search_path');
    }
    await client.query({ ...record, values: values(performance.now() - started) });
  }
  return performance.now() - started;
}

/**
 * Applies the pending migrations of `phase` and returns those this runner
 * applied. Refuses (before applying anything) when an applied migration was
 * edited or a contract migration would overtake an expand one. It creates
 * the schema itself under its advisory lock: callers must not run their own
 * CREATE SCHEMA IF NOT EXISTS first, which races between replicas starting
 * together (23505 on the catalog's unique index).
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const { log, name: poolName } = poolInternals(options.pool);
  const { schema, qualified, searchPath } = names(options);
  const files = await loadMigrations(options.dir);
  const client = await options.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(`SET statement_timeout = ${Math.max(0, Math.trunc(options.statementTimeoutMs ?? 0))}`);
    await client.query(`SET lock_timeout = ${Math.max(0, Math.trunc(options.lockTimeoutMs ?? 60_000))}`);
    try {
      await client.query({ name: 'migrate.lock', text: 'SELECT pg_advisory_lock($1, $2)', values: [LOCK_CLASS, lockKey(qualified)] });
    } catch (err) {
      if (sqlStateOf(err) === '55P03') throw new MigrationError('DB_MIGRATION_LOCK_TIMEOUT', `another runner holds the migration lock of ${qualified}`, err);
      throw err;
    }
    await client.query('RESET lock_timeout');
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      // The schema's migrations declare tenant tables through it (tenant-rls.ts).
      await client.query(tenantRlsFunctionSql(schema));
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${qualified} (
          version integer PRIMARY KEY,
          name text NOT NULL,
          phase text NOT NULL CHECK (phase IN ('expand', 'contract')),
          checksum text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now(),
          duration_ms integer NOT NULL
        )`,
      );
      const plan = planMigrations(files, await readApplied(client, qualified), options.phase);
      const applied: AppliedMigration[] = [];
      for (const m of plan) {
        let durationMs: number;
        try {
          durationMs = await applyOne(client, m, qualified, searchPath);
        } catch (err) {
          throw new MigrationError('DB_MIGRATION_FAILED', `migration ${m.file} failed: ${err instanceof Error ? err.message : String(err)}`, err);
        }
        applied.push({ version: m.version, name: m.name, phase: m.phase, file: m.file, durationMs: Math.round(durationMs) });
        log.info({ pool: poolName, migration: m.file, phase: m.phase, durationMs: Math.round(durationMs) }, 'migration applied');
      }
      // Tenant policies written in the bare form move to the once-per-statement one (tenant-rls.ts); a busy table waits for the next run.
      await client.query(refreshTenantPoliciesSql(schema)).catch((err: unknown) => log.warn({ pool: poolName, schema, err }, 'tenant policies not refreshed'));
      return { applied };
    } finally {
      await client.query({ name: 'migrate.unlock', text: 'SELECT pg_advisory_unlock($1, $2)', values: [LOCK_CLASS, lockKey(qualified)] }).catch((err: unknown) => {
        broken = err instanceof Error ? err : new Error(String(err));
      });
    }
  } finally {
    // The session carried SET statements and a lock; never hand it back to the pool.
    client.release(broken ?? true);
  }
}

/** Every migration known to the files or the database, with its state; takes no lock. */
export async function migrationStatus(target: MigrationTarget): Promise<MigrationStatus[]> {
  const { qualified } = names(target);
  const files = await loadMigrations(target.dir);
  const applied = await target.pool.withClient((client) => readApplied(client, qualified));
  return compareMigrations(files, applied);
}
