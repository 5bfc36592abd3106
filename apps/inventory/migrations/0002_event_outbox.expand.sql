-- Transactional outbox of inventory events: one row per reservation
-- transition, inserted in the transaction that makes the transition and
-- published to Kafka by the outbox relay (FOR UPDATE SKIP LOCKED, in id order).
CREATE TABLE inventory_events_outbox (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL UNIQUE,
  order_id text NOT NULL,
  type text NOT NULL CHECK (type IN ('reserved', 'confirmed', 'released')),
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);

CREATE INDEX inventory_events_outbox_unpublished ON inventory_events_outbox (id) WHERE published_at IS NULL;
