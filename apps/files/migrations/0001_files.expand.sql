-- Files of every tenant: one row per upload, from the pre-signed PUT to clean
-- (promoted to the clean bucket) or rejected (infected, wrong type, wrong
-- size). A quarantined row is the scanner's queue: it claims due rows with a
-- lease (lease_until) under FOR UPDATE SKIP LOCKED, so a scanner that dies
-- mid-scan leaves the row to be claimed again, and a scanner or storage outage
-- only pushes next_attempt_at back: nothing is lost, nothing skips the scan.
CREATE TABLE files (
  id uuid PRIMARY KEY,
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  owner text NOT NULL,
  name text NOT NULL,
  declared_type text NOT NULL,
  size bigint NOT NULL CHECK (size > 0),
  -- <tenant>/<id>/original; derived objects (thumbnails, transcodes) live beside it under <tenant>/<id>/.
  object_key text NOT NULL UNIQUE,
  status text NOT NULL CHECK (status IN ('awaiting_upload', 'quarantined', 'clean', 'rejected')),
  detected_type text,
  reject_reason text CHECK (reject_reason IN ('infected', 'type_mismatch', 'size_mismatch')),
  signature text,
  scan_attempts integer NOT NULL DEFAULT 0,
  last_scan_error text,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_until timestamptz,
  upload_expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  uploaded_at timestamptz,
  scanned_at timestamptz
);

CREATE INDEX files_scan_due ON files (next_attempt_at) WHERE status = 'quarantined';
CREATE INDEX files_by_tenant ON files (tenant_id, created_at DESC);

-- Transactional outbox of files events (scan verdicts, deletes), keyed by file id.
CREATE TABLE files_events_outbox (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL UNIQUE,
  file_id uuid NOT NULL,
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  type text NOT NULL CHECK (type IN ('clean', 'rejected', 'deleted')),
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);

CREATE INDEX files_events_outbox_unpublished ON files_events_outbox (id) WHERE published_at IS NULL;

-- Row-level security like the other services: a tenant's transaction sees its
-- rows, system work (the scanner, the outbox relay) sees all, reporting reads all.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['files', 'files_events_outbox'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;
