-- Stock adjustments put a `stock-changed` event in the outbox in their
-- transaction (src/domain/inventory-events.ts), so a restock reaches Kafka
-- (catalog turns "in stock" back on from it). Its Kafka key, the SKU, goes in
-- the outbox's key column order_id. SKU stock is shared by every tenant
-- (0003): the event is filed under the tenant that made the change, or under
-- none when an operator adjusts without one. Such rows are visible to no
-- tenant; the relay reads them in the system context like every other row.
-- The widened checks are added NOT VALID: every existing row passed the
-- narrower ones, and the outbox is not scanned under the table lock.
ALTER TABLE inventory_events_outbox DROP CONSTRAINT inventory_events_outbox_type_check;
ALTER TABLE inventory_events_outbox ADD CONSTRAINT inventory_events_outbox_type_check CHECK (type IN ('reserved', 'confirmed', 'released', 'stock-changed')) NOT VALID;
ALTER TABLE inventory_events_outbox DROP CONSTRAINT inventory_events_outbox_tenant_present;
ALTER TABLE inventory_events_outbox ADD CONSTRAINT inventory_events_outbox_tenant_present CHECK (tenant_id IS NOT NULL OR type = 'stock-changed') NOT VALID;
CREATE POLICY shared_stock_events ON inventory_events_outbox FOR INSERT WITH CHECK (tenant_id IS NULL AND type = 'stock-changed');
