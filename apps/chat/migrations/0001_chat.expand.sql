-- Chat (issue 30): rooms (public, private, direct), their members with a
-- room role and receipt cursors, messages numbered per room by a gap-free
-- sequence (rooms.last_seq, taken under the room row's lock in the message's
-- transaction, so a rolled-back message leaves no hole and seq N+1 commits
-- after seq N), and blocks between users. Per tenant under row-level
-- security like catalog's tables.
CREATE TABLE rooms (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
  name text NOT NULL,
  -- A direct room's two users, sorted and joined by a space: one direct room per pair.
  direct_key text,
  created_by text NOT NULL,
  last_seq bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
);
CREATE UNIQUE INDEX rooms_direct_pair ON rooms (tenant_id, direct_key) WHERE direct_key IS NOT NULL;
CREATE INDEX rooms_public_idx ON rooms (tenant_id, created_at) WHERE kind = 'public';

CREATE TABLE room_members (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  room_id uuid NOT NULL,
  user_sub text NOT NULL,
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  -- Receipts: the highest sequence the user's devices acknowledged as delivered, and as read.
  delivered_seq bigint NOT NULL DEFAULT 0,
  read_seq bigint NOT NULL DEFAULT 0,
  joined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, room_id, user_sub),
  FOREIGN KEY (tenant_id, room_id) REFERENCES rooms (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX room_members_user_idx ON room_members (tenant_id, user_sub);

CREATE TABLE messages (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  room_id uuid NOT NULL,
  seq bigint NOT NULL,
  id uuid NOT NULL,
  sender_sub text NOT NULL,
  -- The sender's id for this message: a resend after a lost ack finds the first one (no duplicate).
  client_id text NOT NULL,
  body text NOT NULL,
  -- References to files ([{ fileId, name, contentType, size }]); the files service keeps the bytes.
  attachments jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  edited_at timestamptz,
  deleted_at timestamptz,
  PRIMARY KEY (tenant_id, room_id, seq),
  FOREIGN KEY (tenant_id, room_id) REFERENCES rooms (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX messages_client_id ON messages (tenant_id, room_id, sender_sub, client_id);

CREATE TABLE blocks (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  blocker_sub text NOT NULL,
  blocked_sub text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, blocker_sub, blocked_sub)
);
CREATE INDEX blocks_blocked_idx ON blocks (tenant_id, blocked_sub);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['rooms', 'room_members', 'messages', 'blocks'] LOOP
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL)', t, t || '_tenant_present');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;
