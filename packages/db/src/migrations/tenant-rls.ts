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
 * docs/DECISIONS.md ("Tenants with row-level security in packages/db").
 */
import { DB_ROLES } from '../roles.ts';

const quoteIdent = (id: string): string => `"${id.replaceAll('"', '""')}"`;
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
      EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t::regclass AND polname = 'system_context') THEN
      EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = t::regclass AND polname = 'reporting') THEN
      EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = %L)$f$, t, ${reporting});
    END IF;
  END LOOP;
END
$fn$;
REVOKE ALL ON FUNCTION ${quoteIdent(schema)}.enable_tenant_rls(text[]) FROM PUBLIC`;
}
