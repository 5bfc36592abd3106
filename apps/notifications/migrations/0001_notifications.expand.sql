-- Webhook endpoints per tenant (event filters, health, ordered flag), their
-- signing secrets (two active during a rotation), deliveries with every
-- attempt, email/SMS messages with their tracking state, and the
-- suppression list fed by bounces and complaints.

CREATE TABLE endpoints (
  id uuid PRIMARY KEY,
  tenant_id text NOT NULL,
  url text NOT NULL,
  description text NOT NULL DEFAULT '',
  -- event types this endpoint receives; '*' receives every type
  event_types text[] NOT NULL,
  -- deliver strictly one at a time in creation order
  ordered boolean NOT NULL DEFAULT false,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  disabled_reason text,
  disabled_at timestamptz,
  consecutive_failures integer NOT NULL DEFAULT 0,
  breaker_open_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_tenant ON endpoints (tenant_id, created_at, id);

-- A secret signs while expires_at is null (current) or in the future (previous, during the grace period).
CREATE TABLE endpoint_secrets (
  endpoint_id uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
  version integer NOT NULL,
  secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  PRIMARY KEY (endpoint_id, version)
);

CREATE TABLE deliveries (
  id uuid PRIMARY KEY,
  -- delivery order per endpoint (ordered endpoints deliver by it)
  seq bigserial NOT NULL UNIQUE,
  endpoint_id uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
  tenant_id text NOT NULL,
  event_id text NOT NULL,
  event_type text NOT NULL,
  -- the exact bytes signed and sent
  payload text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error text,
  replay_of uuid REFERENCES deliveries (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  enqueued_at timestamptz,
  last_attempt_at timestamptz,
  finished_at timestamptz
);
-- one original delivery per event and endpoint (Kafka redelivery, API retries); replays are extra rows
CREATE UNIQUE INDEX deliveries_event_once ON deliveries (endpoint_id, event_id) WHERE replay_of IS NULL;
CREATE INDEX deliveries_endpoint_time ON deliveries (endpoint_id, created_at, id);
CREATE INDEX deliveries_pending ON deliveries (endpoint_id, seq) WHERE status = 'pending';

CREATE TABLE delivery_attempts (
  id bigserial PRIMARY KEY,
  delivery_id uuid NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  ok boolean NOT NULL,
  status_code integer,
  latency_ms double precision NOT NULL,
  response_snippet text NOT NULL DEFAULT '',
  error text,
  attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

CREATE TABLE messages (
  id uuid PRIMARY KEY,
  tenant_id text NOT NULL,
  channel text NOT NULL CHECK (channel IN ('email', 'sms')),
  recipient text NOT NULL,
  template text NOT NULL,
  locale text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'delivered', 'bounced', 'complained', 'suppressed', 'failed')),
  provider text NOT NULL,
  provider_message_id text,
  idempotency_key text,
  source_event_id text,
  attempts integer NOT NULL DEFAULT 0,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  enqueued_at timestamptz,
  sent_at timestamptz,
  delivered_at timestamptz,
  bounced_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX messages_idempotency ON messages (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX messages_provider_id ON messages (provider, provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE INDEX messages_queued ON messages (created_at) WHERE status = 'queued';

CREATE TABLE suppressions (
  channel text NOT NULL CHECK (channel IN ('email', 'sms')),
  -- lower-cased email address or E.164 number
  recipient text NOT NULL,
  reason text NOT NULL CHECK (reason IN ('bounce', 'complaint', 'manual')),
  message_id uuid,
  detail text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, recipient)
);
