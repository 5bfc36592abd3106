/**
 * What to apply, decided without a database: compares the files with the
 * recorded rows, refuses edited migrations, and picks the pending migrations
 * of the requested phase.
 */
import { MigrationError } from '../errors.ts';
import type { MigrationFile, MigrationPhase } from './files.ts';

export type MigratePhase = MigrationPhase | 'all';

export interface AppliedRecord {
  version: number;
  name: string;
  phase: string;
  checksum: string;
  appliedAt: Date;
}

export type MigrationState = 'applied' | 'pending' | 'changed' | 'missing';

export interface MigrationStatus {
  version: number;
  name: string;
  phase: string;
  state: MigrationState;
  file?: string;
  appliedAt?: Date;
}

/** One row per version found in files or records, ascending. */
export function compareMigrations(files: readonly MigrationFile[], applied: readonly AppliedRecord[]): MigrationStatus[] {
  const byVersion = new Map(applied.map((r) => [r.version, r]));
  const rows: MigrationStatus[] = files.map((f) => {
    const record = byVersion.get(f.version);
    byVersion.delete(f.version);
    if (!record) return { version: f.version, name: f.name, phase: f.phase, state: 'pending', file: f.file };
    const state = record.checksum === f.checksum ? 'applied' : 'changed';
    return { version: f.version, name: f.name, phase: f.phase, state, file: f.file, appliedAt: record.appliedAt };
  });
  for (const r of byVersion.values()) rows.push({ version: r.version, name: r.name, phase: r.phase, state: 'missing', appliedAt: r.appliedAt });
  return rows.sort((a, b) => a.version - b.version);
}

/**
 * The migrations to apply for `phase`, in order. Throws when an applied
 * migration was edited, or when a contract migration would overtake a pending
 * expand migration with a lower version.
 */
export function planMigrations(files: readonly MigrationFile[], applied: readonly AppliedRecord[], phase: MigratePhase): MigrationFile[] {
  const status = compareMigrations(files, applied);
  const changed = status.filter((s) => s.state === 'changed');
  if (changed.length > 0) {
    throw new MigrationError(
      'DB_MIGRATION_CHECKSUM_MISMATCH',
      `applied migration${changed.length > 1 ? 's' : ''} ${changed.map((s) => s.file).join(', ')} changed on disk since applied; restore the file and add a new migration instead`,
    );
  }
  const done = new Set(applied.map((r) => r.version));
  const pending = files.filter((f) => !done.has(f.version));
  if (phase === 'all') return pending;
  if (phase === 'expand') return pending.filter((f) => f.phase === 'expand');
  const contracts = pending.filter((f) => f.phase === 'contract');
  for (const c of contracts) {
    const blocker = pending.find((f) => f.phase === 'expand' && f.version < c.version);
    if (blocker) {
      throw new MigrationError('DB_MIGRATION_ORDER', `contract migration ${c.file} cannot run before expand migration ${blocker.file}; run the expand phase first`);
    }
  }
  return contracts;
}

/** A fixed-width table for CLIs. */
export function formatMigrationStatus(rows: readonly MigrationStatus[]): string {
  const lines = rows.map((r) =>
    [String(r.version).padStart(4, '0'), r.phase.padEnd(8), r.state.padEnd(7), r.appliedAt?.toISOString() ?? '-'.padEnd(24), r.name].join('  '),
  );
  return ['ver   phase     state    applied at                name', ...lines].join('\n');
}
