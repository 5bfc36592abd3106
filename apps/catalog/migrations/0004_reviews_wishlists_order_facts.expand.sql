-- Reviews, wishlists, what catalog learns from orders' events, and the outbox
-- of catalog's own events (issue 28). Every table is per tenant under
-- row-level security like 0001; the outbox relay and the orders-event
-- consumer name each row's tenant themselves.
--
-- reviews: one per author per product (the primary key). The product keeps
-- rating_count and rating_sum, changed in the review's transaction, so the
-- average is read from one row and never drifts from the reviews.
ALTER TABLE products
  ADD COLUMN rating_count integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
  ADD COLUMN rating_sum bigint NOT NULL DEFAULT 0 CHECK (rating_sum >= 0);

CREATE TABLE reviews (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  product_id uuid NOT NULL,
  author_sub text NOT NULL,
  rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  title text NOT NULL DEFAULT '',
  body text NOT NULL DEFAULT '',
  order_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, product_id, author_sub),
  FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX reviews_recent_idx ON reviews (tenant_id, product_id, created_at DESC);

CREATE TABLE wishlist_items (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  owner_sub text NOT NULL,
  product_id uuid NOT NULL,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, owner_sub, product_id),
  FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE CASCADE
);

-- The orders projection, written only by the orders.events consumer: who
-- ordered what, and when it was placed, confirmed (paid), shipped or
-- cancelled. Reviews need a shipped order of the product; the sales summary
-- counts confirmed orders by day.
CREATE TABLE order_facts (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  order_id text NOT NULL,
  customer_sub text,
  total_cents bigint,
  placed_at timestamptz,
  confirmed_at timestamptz,
  shipped_at timestamptz,
  cancelled_at timestamptz,
  version integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX order_facts_customer_idx ON order_facts (tenant_id, customer_sub) WHERE shipped_at IS NOT NULL;
CREATE INDEX order_facts_confirmed_idx ON order_facts (tenant_id, confirmed_at) WHERE confirmed_at IS NOT NULL;

CREATE TABLE order_fact_lines (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  order_id text NOT NULL,
  sku text NOT NULL,
  quantity integer NOT NULL,
  unit_price_cents bigint NOT NULL,
  PRIMARY KEY (tenant_id, order_id, sku),
  FOREIGN KEY (tenant_id, order_id) REFERENCES order_facts (tenant_id, order_id) ON DELETE CASCADE
);
CREATE INDEX order_fact_lines_sku_idx ON order_fact_lines (tenant_id, sku);

-- Catalog's events (com.bulwark.catalog.*), written in the transaction of
-- the change and published by the outbox relay (packages/events).
CREATE TABLE catalog_events_outbox (
  id bigserial PRIMARY KEY,
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  event_id uuid NOT NULL UNIQUE,
  aggregate_id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX catalog_events_outbox_unpublished ON catalog_events_outbox (id) WHERE published_at IS NULL;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['reviews', 'wishlist_items', 'order_facts', 'order_fact_lines', 'catalog_events_outbox'] LOOP
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL)', t, t || '_tenant_present');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;
