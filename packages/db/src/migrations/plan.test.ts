import { describe, expect, it } from '@jest/globals';
import type { MigrationFile, MigrationPhase } from './files.ts';
import { compareMigrations, formatMigrationStatus, planMigrations, type AppliedRecord } from './plan.ts';

function file(version: number, phase: MigrationPhase, checksum = `c${version}`): MigrationFile {
  const name = `m${version}`;
  return { version, name, phase, file: `${String(version).padStart(4, '0')}_${name}.${phase}.sql`, sql: '', checksum, transactional: true };
}
function record(f: MigrationFile, checksum = f.checksum): AppliedRecord {
  return { version: f.version, name: f.name, phase: f.phase, checksum, appliedAt: new Date('2025-01-01T00:00:00Z') };
}

const e1 = file(1, 'expand');
const c2 = file(2, 'contract');
const e3 = file(3, 'expand');
const c4 = file(4, 'contract');
const all = [e1, c2, e3, c4];

describe('planMigrations', () => {
  it('when phase is expand, then only pending expand migrations run, in order', () => {
    expect(planMigrations(all, [], 'expand').map((m) => m.version)).toEqual([1, 3]);
  });

  it('when phase is contract after the expands, then pending contracts run', () => {
    expect(planMigrations(all, [record(e1), record(e3)], 'contract').map((m) => m.version)).toEqual([2, 4]);
  });

  it('when a contract would overtake a pending lower expand, then it is refused', () => {
    expect(() => planMigrations(all, [record(e1)], 'contract')).toThrow(/0004_m4\.contract\.sql cannot run before expand migration 0003_m3\.expand\.sql/);
  });

  it('when phase is all, then every pending migration runs in version order', () => {
    expect(planMigrations(all, [record(e1)], 'all').map((m) => m.version)).toEqual([2, 3, 4]);
  });

  it('when an applied migration was edited, then nothing is planned and the file is named', () => {
    expect(() => planMigrations(all, [record(e1, 'old')], 'all')).toThrow(expect.objectContaining({ code: 'DB_MIGRATION_CHECKSUM_MISMATCH', message: expect.stringContaining('0001_m1.expand.sql') }));
  });
});

describe('compareMigrations', () => {
  it('when files and records differ, then each version gets its state', () => {
    const gone: AppliedRecord = { version: 9, name: 'gone', phase: 'expand', checksum: 'x', appliedAt: new Date(0) };
    const rows = compareMigrations([e1, c2, e3], [record(e1), record(e3, 'edited'), gone]);
    expect(rows.map((r) => [r.version, r.state])).toEqual([[1, 'applied'], [2, 'pending'], [3, 'changed'], [9, 'missing']]);
    expect(formatMigrationStatus(rows)).toMatch(/0003 {2}expand {4}changed/);
  });
});
