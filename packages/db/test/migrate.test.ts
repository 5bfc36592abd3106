import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MigrationError, formatMigrationStatus, migrate, migrationStatus } from '../src/index.ts';
import { createSchema, testPool, type TestPool } from './support.ts';

let dir: string;
let schema: { schema: string; drop(): Promise<void> };
const pools: TestPool[] = [];

function pool(): TestPool {
  const p = testPool({ searchPath: [schema.schema], max: 2 });
  pools.push(p);
  return p;
}

const FILES: Record<string, string> = {
  // Not idempotent on purpose: applying any of these twice would fail or duplicate the seed row.
  '0001_create_orders.expand.sql': "CREATE TABLE orders (id serial PRIMARY KEY, note text);\nINSERT INTO orders (note) VALUES ('seed');\n",
  '0002_add_total.expand.sql': 'ALTER TABLE orders ADD COLUMN total_cents integer NOT NULL DEFAULT 0;\n',
  '0003_drop_note.contract.sql': 'ALTER TABLE orders DROP COLUMN note;\n',
};

async function writeFiles(files: Record<string, string>): Promise<void> {
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulwark-migrations-'));
  schema = await createSchema();
  await writeFiles(FILES);
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await schema.drop();
  await rm(dir, { recursive: true, force: true });
});

async function columns(p: TestPool): Promise<string[]> {
  const { rows } = await p.query<{ column_name: string }>({
    text: "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'orders' ORDER BY ordinal_position",
    values: [schema.schema],
  });
  return rows.map((r) => r.column_name);
}

describe('migrate', () => {
  it('when five runners start at once, then each migration is applied exactly once', async () => {
    const runners = Array.from({ length: 5 }, () => migrate({ pool: pool(), dir, schema: schema.schema, phase: 'all' }));
    const results = await Promise.all(runners);

    const applied = results.flatMap((r) => r.applied.map((m) => m.version)).sort();
    expect(applied).toEqual([1, 2, 3]);
    const p = pools[0]!;
    const { rows: seeds } = await p.query('SELECT * FROM orders');
    expect(seeds).toHaveLength(1);
    const { rows: records } = await p.query<{ version: number }>(`SELECT version FROM ${schema.schema}.schema_migrations ORDER BY version`);
    expect(records.map((r) => r.version)).toEqual([1, 2, 3]);
    expect(await columns(p)).toEqual(['id', 'total_cents']);
  });

  it('when phases are run separately, then expand leaves contract pending until the contract run', async () => {
    const p = pool();
    const target = { pool: p, dir, schema: schema.schema };

    const expand = await migrate({ ...target, phase: 'expand' });
    expect(expand.applied.map((m) => m.file)).toEqual(['0001_create_orders.expand.sql', '0002_add_total.expand.sql']);
    expect(await columns(p)).toEqual(['id', 'note', 'total_cents']);
    const status = await migrationStatus(target);
    expect(status.map((s) => [s.version, s.phase, s.state])).toEqual([
      [1, 'expand', 'applied'],
      [2, 'expand', 'applied'],
      [3, 'contract', 'pending'],
    ]);
    expect(formatMigrationStatus(status)).toContain('0003  contract  pending');

    const contract = await migrate({ ...target, phase: 'contract' });
    expect(contract.applied.map((m) => m.version)).toEqual([3]);
    expect(await columns(p)).toEqual(['id', 'total_cents']);
    expect((await migrate({ ...target, phase: 'all' })).applied).toEqual([]);
  });

  it('when a contract migration would run before a pending expand, then it is refused', async () => {
    await expect(migrate({ pool: pool(), dir, schema: schema.schema, phase: 'contract' })).rejects.toMatchObject({ code: 'DB_MIGRATION_ORDER' });
  });

  it('when an applied migration was edited, then migrate refuses it naming the file and applies nothing', async () => {
    const p = pool();
    const target = { pool: p, dir, schema: schema.schema };
    await migrate({ ...target, phase: 'expand' });
    await writeFiles({ '0001_create_orders.expand.sql': "CREATE TABLE orders (id bigserial PRIMARY KEY, note text);\nINSERT INTO orders (note) VALUES ('seed');\n" });

    const err = await migrate({ ...target, phase: 'all' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ code: 'DB_MIGRATION_CHECKSUM_MISMATCH', message: expect.stringContaining('0001_create_orders.expand.sql') });
    expect(await columns(p)).toContain('note');
    expect((await migrationStatus(target)).map((s) => s.state)).toEqual(['changed', 'applied', 'pending']);
  });

  it('when a migration fails, then its transaction rolls back, it stays pending and later ones do not run', async () => {
    const p = pool();
    await writeFiles({ '0002_add_total.expand.sql': 'ALTER TABLE orders ADD COLUMN total_cents integer;\nSELECT no_such_function();\n' });

    await expect(migrate({ pool: p, dir, schema: schema.schema, phase: 'all' })).rejects.toMatchObject({
      code: 'DB_MIGRATION_FAILED',
      message: expect.stringContaining('0002_add_total.expand.sql'),
    });
    expect(await columns(p)).toEqual(['id', 'note']);
    expect((await migrationStatus({ pool: p, dir, schema: schema.schema })).map((s) => s.state)).toEqual(['applied', 'pending', 'pending']);
  });

  it('when a migration declares no-transaction, then it may run CREATE INDEX CONCURRENTLY', async () => {
    const p = pool();
    await writeFiles({ '0004_index_total.expand.sql': '-- bulwark:no-transaction\nCREATE INDEX CONCURRENTLY orders_total_idx ON orders (total_cents);\n' });
    await migrate({ pool: p, dir, schema: schema.schema, phase: 'all' });
    const { rows } = await p.query({ text: "SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'orders_total_idx'", values: [schema.schema] });
    expect(rows).toHaveLength(1);
  });

  it('when a file does not follow the naming convention, then nothing runs', async () => {
    await writeFiles({ '5_oops.sql': 'SELECT 1;' });
    await expect(migrate({ pool: pool(), dir, schema: schema.schema, phase: 'all' })).rejects.toMatchObject({ code: 'DB_MIGRATION_INVALID' });
  });
});
