/**
 * The inventory events published to Kafka (`com.bulwark.inventory.<kind>`
 * v1): one per reservation transition, keyed by order id, and one per stock
 * adjustment (`stock-changed`, a restock or a loss), keyed by SKU. They are
 * written to the outbox in the transaction of the change (`recordEvents`,
 * `recordStockChanged`), so an event exists if and only if its change
 * committed.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';
import type { Queryable } from '@bulwark/db';

export type ReservationEventKind = 'reserved' | 'confirmed' | 'released';
export type InventoryEventKind = ReservationEventKind | 'stock-changed';

export const InventoryEventData = z.object({
  reservationId: z.string(),
  orderId: z.string(),
  items: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })),
  /** For released: requested (a call) or expired (the sweeper, or a confirm that found it expired). */
  reason: z.enum(['requested', 'expired']).nullable(),
  /** For released: whether the units went back on hand (a confirmed reservation) rather than to available. */
  restocked: z.boolean(),
});
export type InventoryEventData = z.output<typeof InventoryEventData>;

/**
 * A SKU's units on hand changed by hand (a stock adjustment: goods received, returned, damaged…): the level after
 * it, so a reader that missed earlier events still learns where stock stands. SKU stock is shared by every tenant.
 */
export const StockChangedData = z.object({
  sku: z.string(),
  delta: z.number().int(),
  reason: z.enum(['received', 'returned', 'damaged', 'lost', 'stocktake', 'correction']),
  adjustmentId: z.string(),
  onHand: z.number().int(),
  reserved: z.number().int(),
  available: z.number().int(),
});
export type StockChangedData = z.output<typeof StockChangedData>;

const define = (kind: ReservationEventKind) => defineEvent({ type: `com.bulwark.inventory.${kind}`, version: 1, schema: InventoryEventData });

export const INVENTORY_EVENTS: Record<InventoryEventKind, EventDefinition<string, InventoryEventData | StockChangedData>> = {
  reserved: define('reserved'),
  confirmed: define('confirmed'),
  released: define('released'),
  'stock-changed': defineEvent({ type: 'com.bulwark.inventory.stock-changed', version: 1, schema: StockChangedData }),
};

export const inventoryEventSchemas = createEventRegistry(Object.values(INVENTORY_EVENTS));

/**
 * Appends events to the outbox inside the caller's transaction, filed under
 * the transaction's tenant, or under `tenants[i]` when given (the expiry
 * sweeper runs for every tenant and names each reservation's).
 */
export async function recordEvents(tx: Queryable, kind: ReservationEventKind, events: readonly InventoryEventData[], tenants?: readonly string[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query({
    name: 'inventory.record_events',
    text: `INSERT INTO inventory_events_outbox (event_id, order_id, type, data, tenant_id)
           SELECT e.event_id, e.order_id, $1, e.data, COALESCE(e.tenant_id, NULLIF(current_setting('bulwark.tenant', true), ''))
           FROM unnest($2::uuid[], $3::text[], $4::jsonb[], $5::text[]) AS e(event_id, order_id, data, tenant_id)`,
    values: [kind, events.map(() => randomUUID()), events.map((e) => e.orderId), events.map((e) => JSON.stringify(e)), events.map((_, i) => tenants?.[i] ?? null)],
  });
}

/**
 * Appends a stock-changed event to the outbox inside the adjustment's transaction, keyed by the SKU (the outbox's
 * key column is order_id). Filed under the transaction's tenant, the one who made the change; none (an operator's
 * call without a tenant) files it under no tenant (migrations/0005), which only the relay's system context reads.
 */
export async function recordStockChanged(tx: Queryable, event: StockChangedData): Promise<void> {
  await tx.query({
    name: 'inventory.record_stock_changed',
    text: `INSERT INTO inventory_events_outbox (event_id, order_id, type, data, tenant_id)
           VALUES ($1, $2, 'stock-changed', $3, NULLIF(current_setting('bulwark.tenant', true), ''))`,
    values: [randomUUID(), event.sku, JSON.stringify(event)],
  });
}
