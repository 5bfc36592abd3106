/**
 * Migration files on disk. A migration is `NNNN_name.PHASE.sql`:
 * - `NNNN`: version, at least four digits, unique, applied in ascending order;
 * - `name`: lower-case letters, digits, `_` or `-`;
 * - `PHASE`: `expand` (additive, safe while the old code still runs) or
 *   `contract` (removes what the new code no longer uses; run after rollout).
 * The phase lives in the filename, not a header, so `ls` shows the deploy plan.
 * A header line `-- bulwark:no-transaction` runs the file outside a
 * transaction (for CREATE INDEX CONCURRENTLY); such a file should hold one
 * statement. The checksum is SHA-256 over the content with CRLF normalised to
 * LF, so a checkout on another OS does not count as an edit.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MigrationError } from '../errors.ts';

export type MigrationPhase = 'expand' | 'contract';

export interface MigrationFile {
  version: number;
  name: string;
  phase: MigrationPhase;
  file: string;
  sql: string;
  checksum: string;
  transactional: boolean;
}

const FILE_NAME = /^(\d{4,})_([a-z0-9][a-z0-9_-]*)\.(expand|contract)\.sql$/;
const NO_TRANSACTION = /^--\s*bulwark:no-transaction\s*$/;

/** Parses a migration file name; throws MigrationError naming the convention if it does not fit. */
export function parseMigrationFileName(file: string): { version: number; name: string; phase: MigrationPhase } {
  const match = FILE_NAME.exec(file);
  if (!match) {
    throw new MigrationError('DB_MIGRATION_INVALID', `migration file ${file} does not match NNNN_name.(expand|contract).sql`);
  }
  return { version: Number(match[1]), name: match[2]!, phase: match[3] as MigrationPhase };
}

export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql.replaceAll('\r\n', '\n')).digest('hex');
}

/** True when the leading comment block holds `-- bulwark:no-transaction`. */
export function isTransactional(sql: string): boolean {
  for (const raw of sql.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (!line.startsWith('--')) return true;
    if (NO_TRANSACTION.test(line)) return false;
  }
  return true;
}

/** Reads every `*.sql` file of `dir` (other files are ignored), sorted by version. */
export async function loadMigrations(dir: string): Promise<MigrationFile[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql'));
  const migrations: MigrationFile[] = [];
  for (const file of files) {
    const parsed = parseMigrationFileName(file);
    const sql = await readFile(join(dir, file), 'utf8');
    migrations.push({ ...parsed, file, sql, checksum: migrationChecksum(sql), transactional: isTransactional(sql) });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new MigrationError('DB_MIGRATION_INVALID', `migrations ${migrations[i - 1]!.file} and ${migrations[i]!.file} share version ${migrations[i]!.version}`);
    }
  }
  return migrations;
}
