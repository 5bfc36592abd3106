-- Idempotency keys: one row per (scope, Idempotency-Key). The state machine
-- is started -> completed | failed_retryable | failed_final; completed and
-- failed_final rows carry the response that a retry gets replayed. The owner
-- of a `started` row holds a session advisory lock on the key for as long as
-- it works, so a `started` row whose lock is free belongs to a crashed owner.
CREATE TABLE idempotency_keys (
  scope text NOT NULL,
  key text NOT NULL,
  fingerprint text NOT NULL,
  state text NOT NULL CHECK (state IN ('started', 'completed', 'failed_retryable', 'failed_final')),
  attempts integer NOT NULL DEFAULT 1,
  response_status integer,
  response_headers jsonb,
  response_body bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
);

-- The sweeper deletes by (scope, expiry).
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (scope, expires_at);
