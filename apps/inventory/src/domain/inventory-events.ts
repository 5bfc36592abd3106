/**
 * The inventory events published to Kafka (`com.bulwark.inventory.<kind>`
 * v1), one per reservation transition, keyed by order id. They are written
 * to the outbox in the transaction of the transition (`recordEvent`), so an
 * event exists if and only if its transition committed.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';
import type { Queryable } from '@bulwark/db';

export type InventoryEventKind = 'reserved' | 'confirmed' | 'released';

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

const define = (kind: InventoryEventKind) => defineEvent({ type: `com.bulwark.inventory.${kind}`, version: 1, schema: InventoryEventData });

export const INVENTORY_EVENTS: Record<InventoryEventKind, EventDefinition<string, InventoryEventData>> = {
  reserved: define('reserved'),
  confirmed: define('confirmed'),
  released: define('released'),
};

export const inventoryEventSchemas = createEventRegistry(Object.values(INVENTORY_EVENTS));

/**
 * Appends events to the outbox inside the caller's transaction, filed under
 * the transaction's tenant, or under `tenants[i]` when given (the expiry
 * sweeper runs for every tenant and names each reservation's).
 */
export async function recordEvents(tx: Queryable, kind: InventoryEventKind, events: readonly InventoryEventData[], tenants?: readonly string[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query({
    name: 'inventory.record_events',
    text: `INSERT INTO inventory_events_outbox (event_id, order_id, type, data, tenant_id)
           SELECT e.event_id, e.order_id, $1, e.data, COALESCE(e.tenant_id, NULLIF(current_setting('bulwark.tenant', true), ''))
           FROM unnest($2::uuid[], $3::text[], $4::jsonb[], $5::text[]) AS e(event_id, order_id, data, tenant_id)`,
    values: [kind, events.map(() => randomUUID()), events.map((e) => e.orderId), events.map((e) => JSON.stringify(e)), events.map((_, i) => tenants?.[i] ?? null)],
  });
}
