-- Tenants, accounts, one-time tokens (email verification, password reset),
-- sessions (refresh-token families) with their tokens, the login lockout
-- per (tenant, email, client IP), and the signing key ring.
CREATE TABLE tenants (
  id uuid PRIMARY KEY,
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- `email` is stored lower-cased (NFC), so the unique constraint is the
-- case-insensitive rule "one account per email per tenant".
CREATE TABLE users (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  email text NOT NULL,
  email_verified boolean NOT NULL DEFAULT false,
  password_hash text NOT NULL,
  display_name text,
  roles text[] NOT NULL,
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_tenant_email_key UNIQUE (tenant_id, email)
);

-- Only SHA-256 hashes of the tokens are kept; a token is used once
-- (used_at set by a conditional UPDATE) and never after expires_at.
CREATE TABLE one_time_tokens (
  token_hash bytea PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('verify-email', 'reset-password')),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX one_time_tokens_user_idx ON one_time_tokens (user_id, purpose);
CREATE INDEX one_time_tokens_expiry_idx ON one_time_tokens (expires_at);

-- A session is one login: the family of refresh tokens it issues. Revoking
-- it (logout, reuse of a rotated token, password reset) refuses every token
-- of the family.
CREATE TABLE sessions (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text CHECK (revoked_reason IN ('logout', 'reuse', 'password-reset')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_live_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

-- Rotated tokens stay (rotated_at set) until their session is removed, so a
-- replayed old token is recognised as reuse.
CREATE TABLE refresh_tokens (
  token_hash bytea PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  generation integer NOT NULL,
  expires_at timestamptz NOT NULL,
  rotated_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT refresh_tokens_generation_key UNIQUE (session_id, generation)
);

-- Keyed by what the client typed (not by user id), so unknown emails lock
-- exactly like real ones and a lock reveals nothing.
CREATE TABLE login_lockouts (
  tenant_id uuid NOT NULL,
  email text NOT NULL,
  source text NOT NULL,
  failures integer NOT NULL,
  locked_until timestamptz,
  last_failure_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, email, source)
);
CREATE INDEX login_lockouts_age_idx ON login_lockouts (last_failure_at);

-- The key ring. A key signs from activates_at until the next key's
-- activates_at and is published from its creation until the last token it
-- signed has expired. The private JWK is sealed with AES-256-GCM under
-- KEY_ENCRYPTION_KEY (sealed_with: the first 16 hex digits of that key's
-- SHA-256, to name a wrong key at start instead of failing to decrypt).
-- activates_at is unique: two replicas rotating at once cannot both add the
-- next key (the advisory lock is the first guard, this the backstop).
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  alg text NOT NULL,
  public_jwk jsonb NOT NULL,
  private_jwk_sealed bytea NOT NULL,
  sealed_with text NOT NULL,
  activates_at timestamptz NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
