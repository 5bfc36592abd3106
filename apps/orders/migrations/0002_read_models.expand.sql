-- Read models (CQRS) and projection checkpoints. Projections own their
-- tables; `rebuild` creates a copy (LIKE … INCLUDING ALL), replays into it and
-- swaps it in with renames inside one transaction.
CREATE TABLE projection_checkpoints (
  projection     text PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT '0',
  event_id       bigint NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_summaries (
  order_id     text PRIMARY KEY,
  customer_id  text NOT NULL,
  status       text NOT NULL,
  items        jsonb NOT NULL DEFAULT '[]',
  address      jsonb,
  total_cents  bigint NOT NULL DEFAULT 0,
  version      integer NOT NULL,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
);
-- Keyset pagination of a customer's orders, newest first.
CREATE INDEX order_summaries_customer_keyset ON order_summaries (customer_id, created_at DESC, order_id DESC);

CREATE TABLE order_status_counts (
  status text PRIMARY KEY,
  count  bigint NOT NULL
);

-- Owned by the order-status-counts projection: each order's last status, so
-- a cancellation knows which count to decrement.
CREATE TABLE order_statuses (
  order_id text PRIMARY KEY,
  status   text NOT NULL
);

INSERT INTO projection_checkpoints (projection) VALUES ('order-summaries'), ('order-status-counts');
