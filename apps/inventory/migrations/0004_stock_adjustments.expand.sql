-- Stock adjustments (issue 28's admin): every change of a SKU's units on
-- hand made by a person, with why (reason), who (actor, the verified
-- subject) and from which tenant, and the units on hand after it. Shared
-- like skus (one warehouse every tenant sells from), so outside row-level
-- security; an append-only log, never updated.
CREATE TABLE stock_adjustments (
  id bigserial PRIMARY KEY,
  sku text NOT NULL REFERENCES skus (sku),
  delta integer NOT NULL CHECK (delta <> 0),
  reason text NOT NULL CHECK (reason IN ('received', 'returned', 'damaged', 'lost', 'stocktake', 'correction')),
  note text NOT NULL DEFAULT '',
  actor text NOT NULL,
  tenant_id text DEFAULT NULLIF(current_setting('bulwark.tenant', true), ''),
  on_hand_after integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_adjustments_sku_idx ON stock_adjustments (sku, id DESC);
