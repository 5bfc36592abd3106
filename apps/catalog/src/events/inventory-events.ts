/**
 * What catalog reads of inventory's events (inventory.events, CloudEvents
 * `com.bulwark.inventory.{reserved,confirmed,released,stock-changed}` v1):
 * that the stock of some SKUs moved (a stock-changed is an adjustment: a
 * restock brings a sold-out product back). Reservation events carry the units
 * held or given back, not the level, and a SKU's events are keyed by order or
 * by SKU (so on different partitions, in no common order): each one makes
 * catalog ask inventory for those SKUs' available units now
 * (GET /v1/skus/:sku, the cart's reader) and store them
 * (store/stock-store.ts): the answer is the latest level in whatever order
 * events arrive, and a redelivered event writes nothing new. Stock is shared
 * catalogue data, so the write runs in the audited system context for every
 * tenant's variants of the SKU, after the read and outside the consumer's
 * transaction (it is idempotent). The "in stock" filter and the ranking's
 * availability term read products.in_stock.
 */
import { z } from 'zod';
import { withSystemContext, type DbPool } from '@bulwark/db';
import { createEventRegistry, defineEvent, handle, type EventHandler } from '@bulwark/events';
import type { StockReader } from '../domain/cart-services.ts';
import { recordAvailability } from '../store/stock-store.ts';

const data = z.object({ orderId: z.string(), items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })) });
const define = (kind: string) => defineEvent({ type: `com.bulwark.inventory.${kind}`, version: 1, schema: data });

const stockChanged = defineEvent({ type: 'com.bulwark.inventory.stock-changed', version: 1, schema: z.object({ sku: z.string() }) });

export const INVENTORY_EVENTS = { reserved: define('reserved'), confirmed: define('confirmed'), released: define('released'), stockChanged };

export const inventoryEventSchemas = createEventRegistry(Object.values(INVENTORY_EVENTS));

export interface InventoryEventHooks {
  /** Called after an event's SKUs were read and stored, with the products whose in_stock flipped. */
  onStock?: (flipped: number) => void;
}

export function inventoryEventHandlers(deps: { pool: DbPool; stock: StockReader }, hooks: InventoryEventHooks = {}): EventHandler[] {
  const refresh = async (items: readonly { sku: string }[]) => {
    const available = await deps.stock.available([...new Set(items.map((i) => i.sku))]);
    const flipped = await withSystemContext(deps.pool, 'catalog.inventory-stock', () => recordAvailability(deps.pool, available));
    hooks.onStock?.(flipped);
  };
  const { stockChanged: adjusted, ...reservations } = INVENTORY_EVENTS;
  return [...Object.values(reservations).map((definition) => handle(definition, async (e) => refresh(e.data.items))), handle(adjusted, async (e) => refresh([e.data]))];
}
