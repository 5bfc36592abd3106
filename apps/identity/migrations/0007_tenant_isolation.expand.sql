-- Tenants (issue 25): the organisation's own data is under row-level
-- security like the other services' tables: invitations (who is invited
-- into an organisation, with which role) and addresses (an account's saved
-- addresses, customer data of its organisation). A transaction sees its
-- tenant's rows (tenant_isolation: the organisation routes run as the
-- organisation the caller's token belongs to, the /v1/me/addresses routes as
-- the caller's account's tenant), audited system work sees every row
-- (system_context: accepting an invitation finds its organisation by the
-- token's hash first), the reporting role reads every row (reporting).
-- FORCE: the owner is bound too. tenant_id here is the organisation's uuid;
-- bulwark.tenant carries it as text.
-- addresses gets tenant_id, filled here from its account (one pass; an
-- address without it would vanish from its owner's address book).
--
-- Global on purpose, outside row-level security: tenants (the organisations
-- themselves, found by slug at sign-up and login), users (the accounts: the
-- tenant is what a login establishes, so an account is read before any
-- tenant context exists: by (tenant slug, email) at login, by id from a
-- token's subject, from a one-time token, by other services' internal
-- lookups), and what authenticates them before a tenant is known: sessions,
-- refresh_tokens, one_time_tokens, login_lockouts (keyed by what the client
-- typed), totp_factors, recovery_codes, oidc_payloads (the OIDC provider's
-- state), signing_keys (the platform's key ring). Every query of those names
-- the account or the token it starts from.
ALTER TABLE addresses ADD COLUMN tenant_id uuid;
UPDATE addresses a SET tenant_id = u.tenant_id FROM users u WHERE u.id = a.user_id;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['invitations', 'addresses'] LOOP
    EXECUTE format($f$ALTER TABLE %I ALTER COLUMN tenant_id SET DEFAULT NULLIF(current_setting('bulwark.tenant', true), '')::uuid$f$, t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id::text = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;
ALTER TABLE addresses ADD CONSTRAINT addresses_tenant_present CHECK (tenant_id IS NOT NULL) NOT VALID;
