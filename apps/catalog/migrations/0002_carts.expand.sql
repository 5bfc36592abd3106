-- Carts (issue 28): a guest cart (owner_sub NULL, reached with a secret whose
-- SHA-256 is guest_secret_hash) or a user's (owner_sub, at most one open per
-- user), its lines with the price snapshotted when the line was last set.
-- Per tenant under row-level security like the catalog's other tables; the
-- expiry sweeper deletes expired carts as audited system work.
CREATE TABLE carts (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  id uuid NOT NULL,
  owner_sub text,
  guest_secret_hash bytea,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'merged', 'checked_out')),
  merged_into uuid,
  order_id text,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CHECK ((owner_sub IS NULL) <> (guest_secret_hash IS NULL))
);
CREATE UNIQUE INDEX carts_one_open_per_user ON carts (tenant_id, owner_sub) WHERE status = 'open' AND owner_sub IS NOT NULL;
CREATE UNIQUE INDEX carts_guest_secret_idx ON carts (tenant_id, guest_secret_hash) WHERE guest_secret_hash IS NOT NULL;
CREATE INDEX carts_expiry_idx ON carts (expires_at) WHERE status = 'open';

CREATE TABLE cart_items (
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  cart_id uuid NOT NULL,
  sku text NOT NULL,
  product_id uuid NOT NULL,
  name text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
  currency char(3) NOT NULL,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, cart_id, sku),
  FOREIGN KEY (tenant_id, cart_id) REFERENCES carts (tenant_id, id) ON DELETE CASCADE
);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['carts', 'cart_items'] LOOP
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id IS NOT NULL)', t, t || '_tenant_present');
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($f$CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting('bulwark.tenant', true))$f$, t);
    EXECUTE format($f$CREATE POLICY system_context ON %I USING (current_setting('bulwark.system', true) = 'on')$f$, t);
    EXECUTE format($f$CREATE POLICY reporting ON %I FOR SELECT USING (current_user = 'bulwark_report')$f$, t);
  END LOOP;
END $$;
