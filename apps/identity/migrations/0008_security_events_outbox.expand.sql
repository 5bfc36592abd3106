-- Security events (logins, role and membership changes) for the audit log
-- (issue 33), written in the transaction of the change and published to
-- Kafka by the outbox relay (@bulwark/events). Global like sessions (a
-- login writes it before any tenant context exists); each event names its
-- tenant in its data.
CREATE TABLE security_events_outbox (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL UNIQUE,
  account_id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX security_events_outbox_pending ON security_events_outbox (id) WHERE published_at IS NULL;
