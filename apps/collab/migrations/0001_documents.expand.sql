-- Collaborative documents (issue 30): a document's metadata and access
-- (roles that may read, roles that may write; empty = every user of the
-- tenant), its Yjs update log (every update a client sent, appended before it
-- is relayed to anyone: what "acknowledged" means) and one snapshot (the
-- merged state of the updates compaction removed from the log). Per tenant
-- under row-level security like the catalog's tables.
CREATE TABLE documents (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  id uuid NOT NULL,
  title text NOT NULL,
  created_by text NOT NULL,
  read_roles text[] NOT NULL DEFAULT '{}',
  write_roles text[] NOT NULL DEFAULT '{}',
  -- Milliseconds: the list's cursor carries created_at as a JavaScript date, which must compare equal.
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX documents_listing_idx ON documents (tenant_id, created_at DESC, id DESC);

CREATE TABLE document_updates (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  document_id uuid NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  update bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, document_id, seq),
  FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE document_snapshots (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  document_id uuid NOT NULL,
  state bytea NOT NULL,
  merged_updates bigint NOT NULL DEFAULT 0,
  compacted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, document_id),
  FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['documents', 'document_updates', 'document_snapshots'] LOOP
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL)', t, t || '_tenant_present');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;
