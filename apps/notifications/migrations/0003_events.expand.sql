-- Every event published to a tenant (API, Kafka domain events, endpoint
-- notices), kept for EVENTS_RETENTION_HOURS whatever the state of the
-- tenant's endpoints: an endpoint disabled when an event was published can
-- be given it later (POST .../endpoints/{id}/recover, or PATCH enabled with
-- recoverMissed). Deliveries keep their own copy of the payload.
CREATE TABLE events (
  tenant_id text NOT NULL,
  id text NOT NULL,
  -- publication order (recovered deliveries are created in it)
  seq bigserial NOT NULL UNIQUE,
  type text NOT NULL,
  -- sha256 of the canonical JSON of {type, data}: the same id with another body is refused (409)
  fingerprint text NOT NULL,
  -- the exact bytes every delivery of this event signs and sends
  payload text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX events_tenant_time ON events (tenant_id, created_at, seq);
-- the retention sweep deletes the oldest first
CREATE INDEX events_created ON events (created_at);
