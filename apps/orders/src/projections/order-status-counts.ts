/**
 * The order-status-counts read model: how many orders are in each status.
 * It keeps each order's last status in its own `order_statuses` table, so a
 * cancellation knows whether it leaves `draft` or `placed`. A status event of
 * an order it never saw created, or a second OrderCreated, would count an
 * order that does not exist (or twice): it throws and is parked, as does a
 * status event whose data does not match its schema.
 */
import { parseOrderEvent } from '../domain/events.ts';
import type { OrderStatus } from '../domain/order.ts';
import { ordersError } from '../errors.ts';
import { table, type Projection } from './projection.ts';

const STATUS_OF_EVENT: Readonly<Record<string, OrderStatus>> = {
  OrderCreated: 'draft',
  OrderPlaced: 'placed',
  OrderCancelled: 'cancelled',
  OrderShipped: 'shipped',
  OrderConfirmed: 'confirmed',
  CheckoutFailed: 'checkout_failed',
};

export const orderStatusCounts: Projection = {
  name: 'order-status-counts',
  tables: ['order_status_counts', 'order_statuses'],
  async apply(db, events, tables) {
    const counts = table(tables, 'order_status_counts');
    const statuses = table(tables, 'order_statuses');
    const relevant = events.filter((e) => STATUS_OF_EVENT[e.type] !== undefined);
    if (relevant.length === 0) return;
    const ids = [...new Set(relevant.map((e) => e.streamId))];
    const { rows } = await db.query<{ order_id: string; status: OrderStatus }>({
      name: 'orders.projection.counts.load',
      text: `SELECT order_id, status FROM ${statuses} WHERE order_id = ANY($1::text[])`,
      values: [ids],
    });
    const current = new Map(rows.map((r) => [r.order_id, r.status]));
    // Counts are per tenant: the event's (the projector runs in the system context, nothing defaults it).
    const tenantOf = new Map<string, string | null>();
    const delta = new Map<string, { tenant: string | null; status: OrderStatus; by: number }>();
    const bump = (tenant: string | null, status: OrderStatus, by: number): void => {
      const key = JSON.stringify([tenant, status]);
      const entry = delta.get(key) ?? { tenant, status, by: 0 };
      entry.by += by;
      delta.set(key, entry);
    };
    for (const event of relevant) {
      const next = STATUS_OF_EVENT[event.type]!;
      parseOrderEvent(event.type, event.data); // a malformed event is parked here as in order-summaries
      const previous = current.get(event.streamId);
      if (!previous && event.type !== 'OrderCreated') throw ordersError('ORDERS_NOT_FOUND', `order ${event.streamId}: ${event.type} before OrderCreated`, { orderId: event.streamId, event: event.type });
      if (previous && event.type === 'OrderCreated') throw ordersError('ORDERS_ALREADY_EXISTS', `order ${event.streamId}: OrderCreated on an order that exists`, { orderId: event.streamId });
      tenantOf.set(event.streamId, event.tenantId);
      if (previous === next) continue;
      if (previous) bump(event.tenantId, previous, -1);
      bump(event.tenantId, next, 1);
      current.set(event.streamId, next);
    }
    await db.query({
      name: 'orders.projection.counts.statuses',
      text: `INSERT INTO ${statuses} (order_id, status, tenant_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
             ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status`,
      values: [ids, ids.map((id) => current.get(id)), ids.map((id) => tenantOf.get(id) ?? null)],
    });
    const changed = [...delta.values()].filter((d) => d.by !== 0);
    if (changed.length === 0) return;
    await db.query({
      name: 'orders.projection.counts.bump',
      text: `INSERT INTO ${counts} (tenant_id, status, count) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
             ON CONFLICT (tenant_id, status) DO UPDATE SET count = ${counts}.count + EXCLUDED.count`,
      values: [changed.map((d) => d.tenant), changed.map((d) => d.status), changed.map((d) => d.by)],
    });
  },
};
