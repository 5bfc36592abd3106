-- Closed periods (calendar months, UTC) exported to object storage: one
-- NDJSON object per period (the signed tree head that covers it, the public
-- key, then every entry with its hashes and signature), written once with
-- object lock where the bucket has it. This table says which periods went
-- where, with the object's SHA-256; append-only like the log.
CREATE TABLE exports (
  period text PRIMARY KEY CHECK (period ~ '^[0-9]{4}-[0-9]{2}$'),
  object_key text NOT NULL,
  sha256 bytea NOT NULL CHECK (length(sha256) = 32),
  entries integer NOT NULL,
  tree_size bigint NOT NULL,
  locked_until timestamptz,
  exported_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER exports_append_only BEFORE UPDATE OR DELETE ON exports FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER exports_no_truncate BEFORE TRUNCATE ON exports FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
