-- The tamper-evident audit log: entries in log order (seq = Merkle leaf
-- index from 0), each with its canonical JSON body (the leaf's bytes), leaf
-- hash, chain hash, Merkle root at its size and the log key's entry
-- timestamp; signed tree heads; and the head the appender locks (the
-- frontier of the Merkle tree, so an append never reads old leaves).
-- Append-only: the runtime role is granted INSERT and SELECT only on
-- entries and tree_heads (the service revokes the rest after its grants),
-- and triggers refuse UPDATE, DELETE and TRUNCATE for every role, owner
-- included. docs/DECISIONS.md ("Audit log").

CREATE TABLE log_head (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  tree_size bigint NOT NULL,
  chain_head bytea NOT NULL,
  -- roots of the perfect subtrees by height, null where the size's bit is 0
  frontier bytea[] NOT NULL
);
INSERT INTO log_head (tree_size, chain_head, frontier) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000', '{}');

CREATE TABLE entries (
  seq bigint PRIMARY KEY CHECK (seq >= 0),
  event_id text NOT NULL UNIQUE,
  event_type text NOT NULL,
  event_class text NOT NULL,
  tenant_id text NOT NULL,
  actor text,
  subject text,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  -- canonical JSON of the entry: exactly the bytes of its Merkle leaf
  body text NOT NULL,
  leaf_hash bytea NOT NULL CHECK (length(leaf_hash) = 32),
  chain_hash bytea NOT NULL CHECK (length(chain_hash) = 32),
  root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
  key_id text NOT NULL,
  signature bytea NOT NULL
);
CREATE INDEX entries_tenant_class ON entries (tenant_id, event_class, seq);
CREATE INDEX entries_tenant_actor ON entries (tenant_id, actor, seq);
SELECT enable_tenant_rls('entries');

CREATE TABLE tree_heads (
  tree_size bigint PRIMARY KEY CHECK (tree_size >= 0),
  signed_at timestamptz NOT NULL,
  root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
  chain_head bytea NOT NULL CHECK (length(chain_head) = 32),
  key_id text NOT NULL,
  signature bytea NOT NULL
);

CREATE FUNCTION refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER tree_heads_append_only BEFORE UPDATE OR DELETE ON tree_heads FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER tree_heads_no_truncate BEFORE TRUNCATE ON tree_heads FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
