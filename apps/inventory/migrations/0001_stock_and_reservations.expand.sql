-- Stock per SKU and reservations. `reserved` counts units held by
-- reservations in status `held`; confirming moves them out of both on_hand
-- and reserved (sold), releasing a held reservation gives them back to
-- available, releasing a confirmed one puts them back on hand. The CHECKs are
-- the backstop of the conditional updates: stock can never go negative nor
-- be reserved beyond what is on hand, whatever the code does.
CREATE TABLE skus (
  sku text PRIMARY KEY,
  on_hand integer NOT NULL CHECK (on_hand >= 0),
  reserved integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT skus_reserved_within_on_hand CHECK (reserved <= on_hand)
);

CREATE TABLE reservations (
  id uuid PRIMARY KEY,
  order_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('held', 'confirmed', 'released')),
  released_reason text CHECK (released_reason IN ('requested', 'expired')),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reservation_items (
  reservation_id uuid NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
  sku text NOT NULL REFERENCES skus (sku),
  quantity integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (reservation_id, sku)
);

CREATE INDEX reservations_order_idx ON reservations (order_id, created_at);
-- The sweeper's scan: only held rows, oldest expiry first.
CREATE INDEX reservations_held_expiry_idx ON reservations (expires_at) WHERE status = 'held';
