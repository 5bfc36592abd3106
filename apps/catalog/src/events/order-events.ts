/**
 * What catalog reads of orders' events (orders.events, CloudEvents
 * `com.bulwark.orders.<kind>` v1, data = payload + orderId + version +
 * tenantId): who ordered which SKUs, and when the order was placed,
 * confirmed, shipped or cancelled. Each handler writes `order_facts` in the
 * consumer's transaction (the one that marks the event processed) as the
 * event's tenant. Orders has no delivered state: a shipped order is the
 * delivery reviews wait for (docs/DECISIONS.md). An event without tenantId
 * (written before orders published it) is skipped: no tenant could see it.
 */
import { z } from 'zod';
import { createEventRegistry, defineEvent, handle, type EventHandler, type HandlerContext } from '@bulwark/events';
import * as facts from '../store/order-facts-store.ts';

const envelope = z.object({ orderId: z.string(), version: z.number().int().positive(), tenantId: z.string().optional() });
const define = <S extends z.ZodRawShape>(kind: string, shape: S) => defineEvent({ type: `com.bulwark.orders.${kind}`, version: 1, schema: envelope.extend(shape) });

export const ORDER_EVENTS = {
  created: define('order-created', { customerId: z.string() }),
  itemAdded: define('item-added', { sku: z.string(), quantity: z.number().int().positive(), unitPriceCents: z.number().int().nonnegative() }),
  itemRemoved: define('item-removed', { sku: z.string() }),
  placed: define('order-placed', { totalCents: z.number().int() }),
  confirmed: define('order-confirmed', {}),
  shipped: define('order-shipped', { carrier: z.string() }),
  cancelled: define('order-cancelled', { reason: z.string() }),
};

export const orderEventSchemas = createEventRegistry(Object.values(ORDER_EVENTS));

/** Runs `fn` as the event's tenant inside the consumer's transaction; false when the event names none. */
async function asTenant(ctx: HandlerContext, data: { tenantId?: string | undefined; orderId: string }, fn: () => Promise<void>): Promise<void> {
  if (!data.tenantId) {
    ctx.log.warn({ orderId: data.orderId }, 'orders event without tenantId skipped');
    return;
  }
  await ctx.db.query({ name: 'catalog.event_tenant', text: "SELECT set_config('bulwark.tenant', $1, true)", values: [data.tenantId] });
  await fn();
}

export interface OrderEventHooks {
  /** Called after an event was applied (metrics). */
  onApplied?: (kind: keyof typeof ORDER_EVENTS) => void;
}

export function orderEventHandlers(hooks: OrderEventHooks = {}): EventHandler[] {
  const applied = (kind: keyof typeof ORDER_EVENTS) => hooks.onApplied?.(kind);
  return [
    handle(ORDER_EVENTS.created, async (e, ctx) => asTenant(ctx, e.data, async () => {
      await facts.recordOrderCreated(ctx.db, e.data.orderId, e.data.version, e.data.customerId);
      applied('created');
    })),
    handle(ORDER_EVENTS.itemAdded, async (e, ctx) => asTenant(ctx, e.data, async () => {
      await facts.recordItemAdded(ctx.db, e.data.orderId, e.data.version, e.data);
      applied('itemAdded');
    })),
    handle(ORDER_EVENTS.itemRemoved, async (e, ctx) => asTenant(ctx, e.data, async () => {
      await facts.recordItemRemoved(ctx.db, e.data.orderId, e.data.version, e.data.sku);
      applied('itemRemoved');
    })),
    handle(ORDER_EVENTS.placed, async (e, ctx) => asTenant(ctx, e.data, async () => {
      await facts.recordMilestone(ctx.db, e.data.orderId, e.data.version, 'placed', new Date(e.time), e.data.totalCents);
      applied('placed');
    })),
    handle(ORDER_EVENTS.confirmed, async (e, ctx) => asTenant(ctx, e.data, async () => {
      await facts.recordMilestone(ctx.db, e.data.orderId, e.data.version, 'confirmed', new Date(e.time));
      applied('confirmed');
    })),
    handle(ORDER_EVENTS.shipped, async (e, ctx) => asTenant(ctx, e.data, async () => {
      await facts.recordMilestone(ctx.db, e.data.orderId, e.data.version, 'shipped', new Date(e.time));
      applied('shipped');
    })),
    handle(ORDER_EVENTS.cancelled, async (e, ctx) => asTenant(ctx, e.data, async () => {
      await facts.recordMilestone(ctx.db, e.data.orderId, e.data.version, 'cancelled', new Date(e.time));
      applied('cancelled');
    })),
  ];
}
