import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { toProblem } from '@bulwark/errors';
import {
  assertRuntimeRole,
  DB_ROLES,
  grantSchemaAccess,
  migrate,
  TenantRequiredError,
  UnsafeRoleError,
  withRequestTenant,
  withSystemContext,
  withTenant,
  withTransaction,
} from '../src/index.ts';
import { admin, createSchema, metricValue, roleUrls, testPool, type TestPool } from './support.ts';

// A tenant table as the apps' migrations declare one: through migrate() and the
// enable_tenant_rls it installs (the column defaulting to the transaction's tenant,
// a NOT VALID presence check, ENABLE + FORCE and the three policies).
const TENANT_TABLE = `
  CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);
  SELECT enable_tenant_rls('notes');
`;

let schema: { schema: string; drop(): Promise<void> };
let owner: TestPool;
let urls: { runtime: string; reporting: string };
const pools: TestPool[] = [];
function runtime(overrides: Parameters<typeof testPool>[0] = {}): TestPool {
  const p = testPool({ connectionString: urls.runtime, searchPath: [schema.schema], ...overrides });
  pools.push(p);
  return p;
}

beforeAll(async () => {
  urls = await roleUrls();
  schema = await createSchema();
  owner = testPool({ searchPath: [schema.schema] });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rls-migrations-'));
  await fs.writeFile(path.join(dir, '0001_notes.expand.sql'), TENANT_TABLE);
  await migrate({ pool: owner, dir, schema: schema.schema, phase: 'all' });
  // Twice on the same table: a no-op, not an error.
  await owner.query("SELECT enable_tenant_rls('notes')");
  await fs.rm(dir, { recursive: true, force: true });
  await grantSchemaAccess({ pool: owner, schema: schema.schema, runtimeRole: DB_ROLES.runtime, reportingRole: DB_ROLES.reporting });
  const p = runtime();
  await withTenant('acme', () => p.query("INSERT INTO notes (id, body) VALUES (1, 'acme one'), (2, 'acme two')"));
  await withTenant('globex', () => p.query("INSERT INTO notes (id, body) VALUES (3, 'globex one')"));
});

afterAll(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await owner.close();
  await schema.drop();
});

const bodies = (rows: Array<{ body: string }>) => rows.map((r) => r.body).sort();

describe('row-level security through the pool', () => {
  it('when a tenant runs a deliberately unscoped SELECT *, then it sees only its own rows (single statement and transaction alike)', async () => {
    const p = runtime();
    const single = await withTenant('acme', () => p.query<{ body: string; tenant_id: string }>('SELECT * FROM notes'));
    expect(bodies(single.rows)).toEqual(['acme one', 'acme two']);
    const inTx = await withTenant('globex', () => withTransaction(p, (tx) => tx.query<{ body: string }>('SELECT * FROM notes')));
    expect(bodies(inTx.rows)).toEqual(['globex one']);
  });

  it('when there is no tenant context, then reads see no rows and writes are refused with a 403 problem', async () => {
    const p = runtime();
    expect((await p.query('SELECT * FROM notes')).rows).toEqual([]);
    expect((await withTransaction(p, (tx) => tx.query('SELECT * FROM notes'))).rows).toEqual([]);
    const err = await p.query("INSERT INTO notes (id, body, tenant_id) VALUES (9, 'sneaky', 'acme')").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TenantRequiredError);
    expect(toProblem(err).status).toBe(403);
    // Without a context the default tenant is NULL, which the presence check refuses too.
    await expect(p.query("INSERT INTO notes (id, body) VALUES (10, 'orphan')")).rejects.toBeDefined();
  });

  it('when a tenant writes a row for another tenant, then the policy refuses it', async () => {
    const p = runtime();
    await expect(withTenant('acme', () => p.query("INSERT INTO notes (id, body, tenant_id) VALUES (11, 'forged', 'globex')"))).rejects.toMatchObject({ code: '42501' });
    const updated = await withTenant('acme', () => p.query("UPDATE notes SET body = 'hijacked' WHERE id = 3"));
    expect(updated.rowCount).toBe(0);
  });

  it('when one pooled connection serves tenant A and then tenant B, then B never sees A\'s rows (pool size 1)', async () => {
    const p = runtime({ max: 1, tenantMaxConnections: 1 });
    const pids: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [tenant, expected] of [['acme', ['acme one', 'acme two']], ['globex', ['globex one']]] as const) {
        const seen = await withTenant(tenant, () =>
          withTransaction(p, async (tx) => {
            pids.push((await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
            return tx.query<{ body: string }>('SELECT * FROM notes');
          }),
        );
        expect(bodies(seen.rows)).toEqual(expected);
        // The same connection, between tenants and with no context: the setting did not outlive the transaction.
        expect((await p.query('SELECT * FROM notes')).rows).toEqual([]);
        expect((await p.query<{ t: string | null }>("SELECT current_setting('bulwark.tenant', true) AS t")).rows[0]!.t ?? '').toBe('');
      }
    }
    expect(new Set(pids).size).toBe(1);
  });

  it('when a lone statement with values or a prepared name runs in a context (set_config and statement in one batch, one Sync), then it is scoped, writes default to the tenant, and nothing outlives it on the connection (pool size 1)', async () => {
    const p = runtime({ max: 1, tenantMaxConnections: 1 });
    const byId = (id: number) => ({ name: 'notes.by_id_or_all', text: 'SELECT body, tenant_id FROM notes WHERE id = $1 OR $1 = 0 ORDER BY id', values: [id], prepare: true });
    for (let round = 0; round < 3; round++) {
      expect(bodies((await withTenant('acme', () => p.query<{ body: string }>(byId(0)))).rows)).toEqual(['acme one', 'acme two']);
      expect(bodies((await withTenant('globex', () => p.query<{ body: string }>(byId(0)))).rows)).toEqual(['globex one']);
      expect((await withTenant('globex', () => p.query(byId(1)))).rows).toEqual([]);
      expect((await p.query<{ t: string | null }>('SELECT current_setting($1, true) AS t', ['bulwark.tenant'])).rows[0]!.t ?? '').toBe('');
      expect((await p.query(byId(0))).rows).toEqual([]);
    }
    // An unnamed statement with values, a write: the tenant comes from the batch's set_config.
    await withTenant('globex', () => p.query('INSERT INTO notes (id, body) VALUES ($1, $2)', [30, 'batched']));
    expect((await withTenant('globex', () => p.query<{ tenant_id: string }>('SELECT tenant_id FROM notes WHERE id = $1', [30]))).rows).toEqual([{ tenant_id: 'globex' }]);
    // A statement that fails (a forged tenant) rolls the batch back; the connection is clean and usable after it.
    await expect(withTenant('acme', () => p.query('INSERT INTO notes (id, body, tenant_id) VALUES ($1, $2, $3)', [31, 'forged', 'globex']))).rejects.toMatchObject({ code: '42501' });
    await expect(withTenant('acme', () => p.query({ name: 'notes.bad', text: 'SELECT 1 / $1::int AS x', values: [0], prepare: true }))).rejects.toMatchObject({ code: '22012' });
    expect((await p.query(byId(0))).rows).toEqual([]);
    expect(bodies((await withTenant('acme', () => p.query<{ body: string }>(byId(0)))).rows)).toEqual(['acme one', 'acme two']);
    expect((await withSystemContext(p, 'test.batch', () => p.query<{ body: string }>(byId(0)))).rows.length).toBe(4);
    await admin(`DELETE FROM ${schema.schema}.notes WHERE id IN (30, 31)`);
  });

  it('when a transaction of tenant A fails or rolls back, then the next user of the same connection (tenant B, or no context) never sees A\'s rows (pool size 1)', async () => {
    const p = runtime({ max: 1, tenantMaxConnections: 1 });
    const pidOf = async (q: { query: typeof p.query }) => (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const pid = await pidOf(p);
    // A statement error inside A's transaction (the transaction is aborted, then rolled back by withTransaction).
    await expect(
      withTenant('acme', () =>
        withTransaction(p, async (tx) => {
          expect(bodies((await tx.query<{ body: string }>('SELECT * FROM notes')).rows)).toEqual(['acme one', 'acme two']);
          return tx.query('SELECT 1 / 0');
        }),
      ),
    ).rejects.toMatchObject({ code: '22012' });
    expect(bodies((await withTenant('globex', () => withTransaction(p, (tx) => tx.query<{ body: string }>('SELECT * FROM notes')))).rows)).toEqual(['globex one']);
    expect((await p.query('SELECT * FROM notes')).rows).toEqual([]);
    // The callback throws after A's reads: the pool's ROLLBACK ends the setting too.
    await expect(
      withTenant('acme', () =>
        withTransaction(p, async (tx) => {
          await tx.query('SELECT * FROM notes');
          throw new Error('use case refused');
        }),
      ),
    ).rejects.toThrow('use case refused');
    expect(bodies((await withTenant('globex', () => p.query<{ body: string }>('SELECT * FROM notes WHERE id > $1', [0]))).rows)).toEqual(['globex one']);
    // A transaction the caller opens and ends by hand, in A, then a read-only one in B: each sees its own tenant only.
    const c = await withTenant('acme', () => p.connect());
    try {
      await withTenant('acme', () => c.query('BEGIN'));
      expect((await c.query<{ t: string }>("SELECT current_setting('bulwark.tenant') AS t")).rows[0]!.t).toBe('acme');
      await c.query('ROLLBACK');
      expect((await c.query<{ t: string | null }>("SELECT current_setting('bulwark.tenant', true) AS t")).rows[0]!.t ?? '').toBe('');
    } finally {
      c.release();
    }
    expect(bodies((await withTenant('globex', () => withTransaction(p, (tx) => tx.query<{ body: string }>('SELECT * FROM notes'), { readOnly: true, isolation: 'repeatable read' }))).rows)).toEqual(['globex one']);
    expect(await pidOf(p)).toBe(pid);
  });

  it('when the first scoped statement on a fresh connection fails before its preamble ran, then the next one still scopes itself (the preamble is parsed again), and system work leaves nothing behind for a tenant (pool size 1)', async () => {
    const p = runtime({ max: 1, tenantMaxConnections: 1 });
    // A Parse error stops the batch before the preamble's Parse: it is not known on this connection yet.
    await expect(withTenant('acme', () => p.query({ name: 'notes.broken', text: 'SELEC body FROM notes WHERE id = $1', values: [1], prepare: true }))).rejects.toMatchObject({ code: '42601' });
    expect(bodies((await withTenant('acme', () => p.query<{ body: string }>('SELECT body FROM notes WHERE id > $1', [0]))).rows)).toEqual(['acme one', 'acme two']);
    // System, then a tenant, then nobody, as lone statements and as transactions on the one connection.
    for (let round = 0; round < 2; round++) {
      expect((await withSystemContext(p, 'test.preamble', () => p.query<{ body: string }>('SELECT body FROM notes WHERE id > $1', [0]))).rows.length).toBe(3);
      expect(bodies((await withTenant('globex', () => p.query<{ body: string }>('SELECT body FROM notes WHERE id > $1', [0]))).rows)).toEqual(['globex one']);
      expect((await withSystemContext(p, 'test.preamble', () => withTransaction(p, (tx) => tx.query<{ body: string }>('SELECT body FROM notes')))).rows.length).toBe(3);
      expect(bodies((await withTenant('acme', () => withTransaction(p, (tx) => tx.query<{ body: string }>('SELECT body FROM notes')))).rows)).toEqual(['acme one', 'acme two']);
      const left = await p.query<{ t: string | null; s: string | null }>('SELECT current_setting($1, true) AS t, current_setting($2, true) AS s', ['bulwark.tenant', 'bulwark.system']);
      expect([left.rows[0]!.t ?? '', left.rows[0]!.s ?? '']).toEqual(['', '']);
      expect((await p.query('SELECT * FROM notes WHERE id > $1', [0])).rows).toEqual([]);
    }
  });

  it('when a schema still has tenant policies in the bare current_setting() form, then migrate() moves them to the once-per-statement form, and isolation is unchanged', async () => {
    // As the apps' first tenant migrations wrote them (before enable_tenant_rls).
    await admin(`SET search_path TO ${schema.schema};
      CREATE TABLE legacy_notes (id int PRIMARY KEY, body text NOT NULL, tenant_id text);
      ALTER TABLE legacy_notes ENABLE ROW LEVEL SECURITY; ALTER TABLE legacy_notes FORCE ROW LEVEL SECURITY;
      CREATE POLICY tenant_isolation ON legacy_notes USING (tenant_id = current_setting('bulwark.tenant', true));
      CREATE POLICY system_context ON legacy_notes USING (current_setting('bulwark.system', true) = 'on');
      CREATE POLICY reporting ON legacy_notes FOR SELECT USING (current_user = '${DB_ROLES.reporting}');
      INSERT INTO legacy_notes VALUES (1, 'acme legacy', 'acme'), (2, 'globex legacy', 'globex');
      GRANT SELECT, INSERT ON legacy_notes TO ${DB_ROLES.runtime}`);
    const policies = async () =>
      (
        await owner.query<{ name: string; qual: string }>(
          "SELECT polname AS name, pg_get_expr(polqual, polrelid) AS qual FROM pg_policy WHERE polrelid = 'legacy_notes'::regclass ORDER BY polname",
        )
      ).rows;
    expect((await policies()).map((p) => p.qual).join(' ')).not.toContain('SELECT');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rls-migrations-'));
    await fs.writeFile(path.join(dir, '0001_notes.expand.sql'), TENANT_TABLE);
    expect((await migrate({ pool: owner, dir, schema: schema.schema, phase: 'all' })).applied).toEqual([]);
    await fs.rm(dir, { recursive: true, force: true });
    const after = await policies();
    expect(after.find((p) => p.name === 'tenant_isolation')!.qual).toMatch(/^\(tenant_id = \( SELECT current_setting\('bulwark\.tenant'::text, true\)/);
    expect(after.find((p) => p.name === 'system_context')!.qual).toMatch(/^\(\( SELECT current_setting\('bulwark\.system'::text, true\)/);
    expect(after.find((p) => p.name === 'reporting')!.qual).toContain('CURRENT_USER');
    // The table the function created is in that form already.
    expect((await owner.query<{ qual: string }>("SELECT pg_get_expr(polqual, polrelid) AS qual FROM pg_policy WHERE polrelid = 'notes'::regclass AND polname = 'tenant_isolation'")).rows[0]!.qual).toContain('SELECT current_setting');
    const p = runtime();
    expect(bodies((await withTenant('acme', () => p.query<{ body: string }>('SELECT * FROM legacy_notes'))).rows)).toEqual(['acme legacy']);
    expect(bodies((await withTenant('globex', () => p.query<{ body: string }>('SELECT * FROM legacy_notes WHERE id > $1', [0]))).rows)).toEqual(['globex legacy']);
    expect((await p.query('SELECT * FROM legacy_notes')).rows).toEqual([]);
    await expect(withTenant('acme', () => p.query("INSERT INTO legacy_notes VALUES (3, 'forged', 'globex')"))).rejects.toMatchObject({ code: '42501' });
    expect((await withSystemContext(p, 'test.legacy', () => p.query('SELECT * FROM legacy_notes'))).rows.length).toBe(2);
    // Each setting is read once per statement (an InitPlan), not per row.
    const plan = await withTenant('acme', () => p.query<{ 'QUERY PLAN': string }>('EXPLAIN SELECT * FROM legacy_notes'));
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('InitPlan');
  });

  it('when system work runs through withSystemContext, then it sees every tenant and is counted and logged', async () => {
    const p = runtime();
    const rows = await withSystemContext(p, 'test.sweep', () => p.query<{ body: string }>('SELECT * FROM notes'));
    expect(bodies(rows.rows)).toEqual(['acme one', 'acme two', 'globex one']);
    await withSystemContext(p, 'test.sweep', () => p.query('SELECT 1'));
    expect(await metricValue(p.registry, 'db_system_context_total', { pool: p.name, reason: 'test.sweep' })).toBe(2);
    expect(p.log.withMsg('system context entered').map((e) => e.level)).toEqual(['info', 'debug']);
    // It may write any tenant's rows (the relay and projectors carry the tenant from the event).
    await withSystemContext(p, 'test.sweep', () => p.query("INSERT INTO notes (id, body, tenant_id) VALUES (20, 'from event', 'globex')"));
    expect(bodies((await withTenant('globex', () => p.query<{ body: string }>('SELECT * FROM notes'))).rows)).toEqual(['from event', 'globex one']);
    await admin(`DELETE FROM ${schema.schema}.notes WHERE id = 20`);
  });

  it('when reporting across tenants, then only the reporting role sees every row, read-only, and the runtime role cannot act as it', async () => {
    const reporting = testPool({ connectionString: urls.reporting, searchPath: [schema.schema] });
    pools.push(reporting);
    expect(bodies((await reporting.query<{ body: string }>('SELECT * FROM notes')).rows)).toEqual(['acme one', 'acme two', 'globex one']);
    await expect(reporting.query("UPDATE notes SET body = 'x'")).rejects.toMatchObject({ code: expect.stringMatching(/^(25006|42501)$/) });
    // Statements of the reporting role are logged by PostgreSQL itself.
    const { rows } = await reporting.query<{ setting: string }>("SELECT current_setting('log_statement') AS setting");
    expect(rows[0]!.setting).toBe('all');
    const p = runtime();
    await expect(p.query(`SET ROLE ${DB_ROLES.reporting}`)).rejects.toMatchObject({ code: '42501' });
  });

  it('when the runtime role is a superuser or the owner, then start-up validation refuses it; the runtime role passes', async () => {
    const p = runtime();
    await expect(assertRuntimeRole(p, owner)).resolves.toBe(DB_ROLES.runtime);
    const err = await assertRuntimeRole(owner, owner).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeRoleError);
    expect(err).toMatchObject({ code: 'DB_ROLE_UNSAFE' });
  });

  it('when a request carries a malformed tenant, then it is a 400 before any query', () => {
    const err = (() => {
      try {
        return withRequestTenant("acme'; DROP TABLE notes; --", () => 'ran');
      } catch (e) {
        return e;
      }
    })();
    expect(toProblem(err).status).toBe(400);
    expect(withRequestTenant(undefined, () => 'ran')).toBe('ran');
  });
});
