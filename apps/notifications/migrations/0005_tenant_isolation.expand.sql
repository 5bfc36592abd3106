-- Tenants (issue 25): endpoints, their signing secrets, deliveries with
-- their attempts, email/SMS messages and the event log belong to a tenant
-- and are under row-level security: a transaction sees its tenant's rows
-- (tenant_isolation: the API, scoped by the tenant in its path, and the
-- webhook and message workers, scoped by the tenant of their row), audited
-- system work sees every row (system_context: the dispatcher's claim, the
-- event retention, the Kafka consumer, whose fan-out and confirmation mails
-- name their tenants, the provider webhooks' lookup by provider message id),
-- the reporting role reads every row (reporting). FORCE: the owner is bound
-- too.
-- endpoints, deliveries, messages and events had tenant_id (NOT NULL)
-- already; it now defaults to the transaction's tenant. endpoint_secrets and
-- delivery_attempts get it, filled here from their parent (one pass over
-- each: secrets are a few rows per endpoint; without it every existing
-- endpoint would sign with no secret and old deliveries would lose their
-- attempt log), and checked NOT VALID like the other services' tables.
-- suppressions stay shared: a bounced or complaining address is suppressed
-- for the platform's sending reputation, whichever tenant sent to it
-- (docs/DECISIONS.md), like inventory's skus.
ALTER TABLE endpoint_secrets ADD COLUMN tenant_id text;
UPDATE endpoint_secrets s SET tenant_id = e.tenant_id FROM endpoints e WHERE e.id = s.endpoint_id;
ALTER TABLE delivery_attempts ADD COLUMN tenant_id text;
UPDATE delivery_attempts a SET tenant_id = d.tenant_id FROM deliveries d WHERE d.id = a.delivery_id;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['endpoints', 'endpoint_secrets', 'deliveries', 'delivery_attempts', 'messages', 'events'] LOOP
    EXECUTE format($f$ALTER TABLE %I ALTER COLUMN tenant_id SET DEFAULT NULLIF(current_setting('bulwark.tenant', true), '')$f$, t);
    IF t IN ('endpoint_secrets', 'delivery_attempts') THEN
      EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL) NOT VALID', t, t || '_tenant_present');
    END IF;
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;
