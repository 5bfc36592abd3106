-- Tenants (issue 25): payments, their operations, ledger rows and outbox
-- events belong to the tenant whose transaction wrote them (the pool sets
-- bulwark.tenant at BEGIN) and are under row-level security: a transaction
-- sees its tenant's rows (tenant_isolation), audited system work such as the
-- outbox relay and the orphan reconciler sees every row (system_context), the
-- reporting role reads every row (reporting). FORCE: the owner is bound too.
-- The default and the NOT VALID check touch no existing row (no rewrite, no
-- scan); rows from before have tenant_id NULL and are visible to no tenant
-- until assigned (docs/RUNBOOK.md).
-- psp_webhook_events and psp_orphan_voids stay system tables: the PSP's
-- deliveries and intents are not a tenant's; only system paths write them.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['payments', 'payment_operations', 'ledger_entries', 'payment_events_outbox'] LOOP
    EXECUTE format($f$ALTER TABLE %I ADD COLUMN tenant_id text DEFAULT NULLIF(current_setting('bulwark.tenant', true), '')$f$, t);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL) NOT VALID', t, t || '_tenant_present');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;
