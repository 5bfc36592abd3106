-- Transactional outbox of payment events: one row per PSP transition of a
-- payment (whichever path records it first), written in the transaction that
-- records the transition, published to Kafka by the outbox relay.
CREATE TABLE payment_events_outbox (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL UNIQUE,
  payment_id uuid NOT NULL REFERENCES payments (id),
  order_id text NOT NULL,
  psp_version integer NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  UNIQUE (payment_id, psp_version)
);
CREATE INDEX payment_events_outbox_unpublished ON payment_events_outbox (id) WHERE published_at IS NULL;
