-- Stock learned from inventory's events is one warehouse level per SKU for
-- every tenant (inventory's skus are shared catalogue data), so the consumer
-- writes variants by SKU across tenants: this index finds them without a scan.
CREATE INDEX variants_sku_idx ON variants (sku);
