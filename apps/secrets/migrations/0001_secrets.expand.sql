-- Secrets (issue 33), per tenant under row-level security like flags' 0001:
-- a transaction sees its tenant's rows (tenant_isolation), audited system
-- work (the KEK re-wrap, the outbox relay) every row (system_context). The
-- reporting role gets no policy here: it never reads secret material.
--
-- secret_versions: one row per version, never updated except to re-wrap
-- its data key (wrapped_key, kek_version) or to disable it. `ciphertext` is
-- nonce ‖ AES-256-GCM(value) ‖ tag under the version's data key;
-- `wrapped_key` is nonce ‖ AES-256-GCM(data key) ‖ tag under KEK
-- `kek_version`. docs/DECISIONS.md ("Secrets").
CREATE TABLE secrets (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  name text NOT NULL,
  latest_version integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE secret_versions (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  name text NOT NULL,
  version integer NOT NULL CHECK (version >= 1),
  ciphertext bytea NOT NULL,
  wrapped_key bytea NOT NULL,
  kek_version integer NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz,
  disabled_by text,
  PRIMARY KEY (tenant_id, name, version),
  FOREIGN KEY (tenant_id, name) REFERENCES secrets (tenant_id, name)
);
-- The re-wrap after a KEK rotation finds what the old versions still wrap.
CREATE INDEX secret_versions_kek_idx ON secret_versions (kek_version);

-- Which service (identity client id) may read which names of the tenant.
CREATE TABLE access_policies (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  client_id text NOT NULL,
  patterns text[] NOT NULL,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, client_id)
);

-- Reads, writes, disables and policy changes for apps/audit, written in the
-- transaction that does them (a read whose audit row does not commit is not
-- answered).
CREATE TABLE secrets_events_outbox (
  id bigserial PRIMARY KEY,
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  event_id uuid NOT NULL UNIQUE,
  aggregate_id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX secrets_events_outbox_unpublished ON secrets_events_outbox (id) WHERE published_at IS NULL;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['secrets', 'secret_versions', 'access_policies', 'secrets_events_outbox'] LOOP
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL)', t, t || '_tenant_present');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
  END LOOP;
END $$;
