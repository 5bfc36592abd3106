-- Tenants (issue 25): reservations, their items and outbox events belong to
-- the tenant whose transaction wrote them (the pool sets bulwark.tenant at
-- BEGIN) and are under row-level security: a transaction sees its tenant's
-- rows (tenant_isolation), audited system work such as the expiry sweeper and
-- the outbox relay sees every row (system_context), the reporting role reads
-- every row (reporting). FORCE: the owner is bound too. The default and the
-- NOT VALID check touch no existing row (no rewrite, no scan); rows from
-- before have tenant_id NULL and are visible to no tenant until assigned
-- (docs/RUNBOOK.md).
-- skus stays shared: stock is the platform's catalogue, one warehouse that
-- every tenant sells from (docs/DECISIONS.md); holds move it for any tenant.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['reservations', 'reservation_items', 'inventory_events_outbox'] LOOP
    EXECUTE format($f$ALTER TABLE %I ADD COLUMN tenant_id text DEFAULT NULLIF(current_setting('bulwark.tenant', true), '')$f$, t);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL) NOT VALID', t, t || '_tenant_present');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;
