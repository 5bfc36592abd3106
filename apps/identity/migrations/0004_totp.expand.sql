-- TOTP second factor (RFC 6238), optional per account, enforceable per
-- tenant. The shared secret is sealed with AES-256-GCM under
-- KEY_ENCRYPTION_KEY like the signing keys (additional data: "totp:" ||
-- user id). A factor counts once confirmed with a code; last_step is the
-- newest 30-second step a code was accepted for, so a code works once.
-- Recovery codes: only SHA-256 of each (80 random bits) is kept, used once.
CREATE TABLE totp_factors (
  user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret_sealed bytea NOT NULL,
  sealed_with text NOT NULL,
  confirmed_at timestamptz,
  last_step bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recovery_codes (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash bytea NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE tenants ADD COLUMN require_totp boolean NOT NULL DEFAULT false;
