/**
 * The one definition of a tenant table's row-level security, installed by
 * `migrate()` into every schema it migrates as `enable_tenant_rls(VARIADIC
 * tables text[])`. A migration declares a tenant table with one line,
 * `SELECT enable_tenant_rls('rooms', 'messages');`, instead of repeating the
 * column, the presence check, ENABLE + FORCE and the three policies:
 * - tenant_isolation: a transaction sees and writes its tenant's rows
 *   (`bulwark.tenant`, set by the pool at BEGIN);
 * - system_context: audited system work (relays, sweepers) sees every row;
 * - reporting: the SELECT-only reporting role reads every row.
 * The column defaults to the transaction's tenant; the NOT VALID check and
 * the default touch no existing row (no rewrite, no scan). Idempotent: a
 * table that already has the column or the policies keeps them.
 *
 * The policies read each setting through a scalar subquery, `(SELECT
 * current_setting(…))`: PostgreSQL runs it once per statement as an InitPlan
 * and compares every row with its result, where a bare `current_setting()`
 * in a policy is called for every row the scan looks at (twice for a row of
 * another tenant: tenant, then system). EXPLAIN ANALYZE of a 50,000-row scan
 * as one tenant: 47 ms bare, 18 ms as InitPlans; an index lookup of one row
 * is the same either way. Policies created in the bare form (the apps' first
 * tenant migrations wrote them out) are moved to this form by
 * `refreshTenantPoliciesSql`, which migrate() runs after each schema's
 * migrations: same rows, same checks, only the evaluation differs.
 * docs/DECISIONS.md ("Tenants with row-level security in packages/db").
 */
import { DB_ROLES } from '../roles.ts';

const quoteIdent = (id: string): string => `"${id.replaceAll('"', '""')}"`;

/** The policies' conditions: each setting read once per statement (an InitPlan), not once per row. */
const TENANT_QUAL = "tenant_id = (SELECT current_setting('bulwark.tenant', true))";
const SYSTEM_QUAL = "(SELECT current_setting('bulwark.system', true)) = 'on'";

/**
 * The bare forms the first tenant migrations created, as PostgreSQL prints them back
 * (pg_get_expr), each with the condition that replaces it. Only an exact match is changed.
 */
const BARE_POLICIES: ReadonlyArray<{ policy: string; printed: string; qual: string }> = [
  { policy: 'tenant_isolation', printed: "(tenant_id = current_setting('bulwark.tenant'::text, true))", qual: TENANT_QUAL },
  { policy: 'system_context', printed: "(current_setting('bulwark.system'::text, true) = 'on'::text)", qual: SYSTEM_QUAL },
];
const quoteLiteral = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/**
 * CREATE OR REPLACE of `<schema>.enable_tenant_rls` (the migration's owner runs it; nobody else may),
 * run by migrate() before the schema's migrations. Tables resolve through the migration's search_path.
 */
export function tenantRlsFunctionSql(schema: string): string {
  const reporting = quoteLiteral(DB_ROLES.reporting);
  return `CREATE OR REPLACE FUNCTION ${quoteIdent(schema)}.enable_tenant_rls(VARIADIC tables text[]) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY tables LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = t::regclass AND attname = 'tenant_id' AND NOT attisdropped) THEN
      EXECUTE format($f$ALTER TABLE %I ADD COLUMN tenant_id text DEFAULT NULLIF(current_setting('bulwark.tenant', true), '')$f$, t);
    ELSE
      EXECUTE format($f$ALTER TABLE %I ALTER COLUMN tenant_id SET DEFAULT NULLIF(current_setting('bulwark.tenant', true), '')$f$, t);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = t::regclass AND conname = t || '_tenant_present') THEN
      EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL) NOT VALID', t, t || '_tenant_present');
    END IF;
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t::regclass AND polname = 'tenant_isolation') THEN
      EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (${TENANT_QUAL})$f$, t);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t::regclass AND polname = 'system_context') THEN
      EXECUTE format($f$CREATE POLICY system_context ON %I USING (${SYSTEM_QUAL})$f$, t);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t::regclass AND polname = 'reporting') THEN
      EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = %L)$f$, t, ${reporting});
    END IF;
  END LOOP;
END
$fn$;
REVOKE ALL ON FUNCTION ${quoteIdent(schema)}.enable_tenant_rls(text[]) FROM PUBLIC`;
}

/**
 * Moves the tenant policies of `schema`'s tables that still have a bare
 * `current_setting()` condition (BARE_POLICIES, exact text only) to the
 * once-per-statement form; a no-op when none is left. Run by migrate() after
 * the schema's migrations, under the migration lock. ALTER POLICY locks its
 * table (ACCESS EXCLUSIVE) for the catalog change only, once per table; a
 * `lock_timeout` (2 s, as the zero-downtime runner's DDL) keeps a busy table
 * from stalling the migration and the queries queued behind the lock: the
 * refresh is then left for the next run (the caller logs it).
 */
export function refreshTenantPoliciesSql(schema: string, lockTimeoutMs = 2_000): string {
  const pairs = BARE_POLICIES.map((b) => `(${quoteLiteral(b.policy)}, ${quoteLiteral(b.printed)}, ${quoteLiteral(b.qual)})`).join(', ');
  return `DO $refresh$
DECLARE
  p record;
BEGIN
  PERFORM set_config('lock_timeout', ${quoteLiteral(String(Math.max(0, Math.trunc(lockTimeoutMs))))}, true);
  FOR p IN
    SELECT n.nspname, c.relname, b.policy, b.qual
    FROM pg_policy pol
    JOIN pg_class c ON c.oid = pol.polrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN (VALUES ${pairs}) AS b(policy, printed, qual) ON b.policy = pol.polname AND b.printed = pg_get_expr(pol.polqual, pol.polrelid)
    WHERE n.nspname = ${quoteLiteral(schema)} AND pol.polwithcheck IS NULL
  LOOP
    EXECUTE format('ALTER POLICY %I ON %I.%I USING (%s)', p.policy, p.nspname, p.relname, p.qual);
  END LOOP;
END
$refresh$`;
}
