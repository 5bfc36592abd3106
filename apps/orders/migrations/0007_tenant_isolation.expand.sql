-- Tenants (issue 25): every table holding a tenant's data gets `tenant_id`,
-- filled from the transaction's tenant (the pool sets bulwark.tenant at
-- BEGIN), and row-level security that shows a transaction only its tenant's
-- rows (tenant_isolation), every row to audited system work such as the
-- projectors, the relay and the saga runner's claim (system_context), and
-- every row, read-only, to the reporting role (reporting). FORCE: the owner
-- is bound too. The default and the NOT VALID check touch no existing row (no
-- rewrite, no scan): rows written before this have tenant_id NULL and are
-- visible to no tenant until assigned (docs/RUNBOOK.md). Writers in the
-- system context set tenant_id themselves (from the event); the check
-- refuses one that forgets.
-- order_status_counts becomes per tenant too: a count over every tenant told
-- each tenant how many orders the others have.
ALTER TABLE order_status_counts DROP CONSTRAINT order_status_counts_pkey;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['streams', 'events', 'snapshots', 'order_summaries', 'order_statuses', 'order_status_counts',
                           'checkout_sagas', 'checkout_saga_steps', 'projection_parked_events', 'relay_parked_events'] LOOP
    EXECUTE format($f$ALTER TABLE %I ADD COLUMN tenant_id text DEFAULT NULLIF(current_setting('bulwark.tenant', true), '')$f$, t);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL) NOT VALID', t, t || '_tenant_present');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;

-- One count per tenant and status (rows of NULL tenant, from before, never conflict and stay invisible).
CREATE UNIQUE INDEX order_status_counts_tenant_status ON order_status_counts (tenant_id, status);
