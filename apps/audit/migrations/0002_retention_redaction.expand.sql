-- Retention per event class (docs/DECISIONS.md, "Audit log"): an entry past
-- its class's retention is redacted, not deleted. Its body goes; its leaf
-- hash, chain hash and signed entry timestamp (seq, time, class) stay, so
-- the tree, the chain and every proof still verify, and the verifier can
-- tell a redaction after retention from a body wiped early. The only UPDATE
-- the trigger lets through is exactly that one: body to NULL with
-- redacted_at set, past the class's retention (retention_classes, written
-- by the service at start from its code), in a transaction that says so
-- (audit.redact = on). The runtime role still has no UPDATE grant: the
-- retention sweep runs as the owner.
ALTER TABLE entries ALTER COLUMN body DROP NOT NULL;
ALTER TABLE entries ADD COLUMN redacted_at timestamptz;
ALTER TABLE entries ADD CONSTRAINT entries_redaction_whole CHECK ((body IS NULL) = (redacted_at IS NOT NULL));

CREATE TABLE retention_classes (
  event_class text PRIMARY KEY,
  retention interval NOT NULL CHECK (retention > interval '0')
);

CREATE OR REPLACE FUNCTION refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  kept interval;
BEGIN
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'entries' AND current_setting('audit.redact', true) = 'on'
     AND OLD.body IS NOT NULL AND NEW.body IS NULL AND NEW.redacted_at IS NOT NULL
     AND (NEW.seq, NEW.event_id, NEW.event_type, NEW.event_class, NEW.tenant_id, NEW.actor, NEW.subject, NEW.occurred_at, NEW.recorded_at, NEW.leaf_hash, NEW.chain_hash, NEW.root_hash, NEW.key_id, NEW.signature)
         IS NOT DISTINCT FROM
         (OLD.seq, OLD.event_id, OLD.event_type, OLD.event_class, OLD.tenant_id, OLD.actor, OLD.subject, OLD.occurred_at, OLD.recorded_at, OLD.leaf_hash, OLD.chain_hash, OLD.root_hash, OLD.key_id, OLD.signature) THEN
    SELECT retention INTO kept FROM retention_classes WHERE event_class = OLD.event_class;
    IF kept IS NOT NULL AND OLD.recorded_at + kept < now() THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
