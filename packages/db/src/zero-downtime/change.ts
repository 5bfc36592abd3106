/**
 * What a zero-downtime change is: one schema change split into the steps that
 * let the previous release and the next one run side by side.
 *
 * - `expand`: additive DDL (new column, new table) plus the triggers that keep
 *   the old and new shapes in agreement both ways while both are live; `down`
 *   undoes it (drops what expand added), so expand can roll back.
 * - `backfill`: copies the existing rows into the new shape in keyset batches
 *   of `table`.`key`; `sql` gets the batch's first and last key ($1, $2,
 *   inclusive) and must be idempotent (a batch may run again after a crash).
 * - `verify`: one query returning one row `{ disagreements }`, the number of
 *   rows where old and new shapes differ; contract needs 0.
 * - `contract`: removes the old shape (and the triggers). One-way.
 *
 * `version` is the schema version a release reaches when it needs the new
 * shape: releases register the version they need (heartbeat.ts), and
 * contract refuses while a live instance registered a lower one.
 */
import { MigrationError } from '../errors.ts';

export interface PreviousReleaseStatement {
  /** What the previous release does with it, e.g. 'read a customer'. */
  name: string;
  text: string;
  values?: readonly unknown[];
}

export interface ZeroDowntimeChange {
  /** Unique, ascending; also the schema version a release needing the new shape registers. */
  version: number;
  /** lower-case letters, digits, `_` or `-`, e.g. 'rename_customers_email'. */
  name: string;
  description?: string;
  /**
   * Whether the previous release keeps working once expand has run (it reads
   * and writes the old shape). An incompatible change is only expanded when
   * no live instance registered a lower version (like contract).
   */
  compatibleWithPrevious: boolean;
  /** The previous release's SQL against the table; checkPreviousRelease runs it after expand (rolled back). */
  previousRelease?: readonly PreviousReleaseStatement[];
  expand: { sql: string; down: string };
  backfill?: {
    table: string;
    key: string;
    /** SQL type of `key` (for the cursor kept as text); default 'bigint'. */
    keyType?: string;
    sql: string;
  };
  verify?: string;
  contract: { sql: string };
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/;
const IDENT = /^[a-z_][a-z0-9_]*$/;

/** Checks a set of changes (names, unique ascending versions) and returns them sorted by version. */
export function defineChanges(changes: readonly ZeroDowntimeChange[]): ZeroDowntimeChange[] {
  const sorted = [...changes].sort((a, b) => a.version - b.version);
  for (const [i, c] of sorted.entries()) {
    if (!Number.isInteger(c.version) || c.version < 1) throw new MigrationError('DB_MIGRATION_INVALID', `change ${c.name}: version must be a positive integer`);
    if (!NAME.test(c.name)) throw new MigrationError('DB_MIGRATION_INVALID', `change ${c.version}: name ${JSON.stringify(c.name)} must match ${NAME.source}`);
    if (i > 0 && sorted[i - 1]!.version === c.version) throw new MigrationError('DB_MIGRATION_INVALID', `changes ${sorted[i - 1]!.name} and ${c.name} share version ${c.version}`);
    if (c.backfill && !(IDENT.test(c.backfill.table) && IDENT.test(c.backfill.key))) {
      throw new MigrationError('DB_MIGRATION_INVALID', `change ${c.name}: backfill table and key must be plain identifiers`);
    }
  }
  return sorted;
}

/** `0002_rename_customers_email`: how changes are named in logs, rows and refusals. */
export function changeId(change: Pick<ZeroDowntimeChange, 'version' | 'name'>): string {
  return `${String(change.version).padStart(4, '0')}_${change.name}`;
}
