/**
 * Queries on the read models (the Q of CQRS): plain objects out, no domain
 * logic. Reads are eventually consistent with the event store; each row
 * carries the stream version it reflects.
 */
import type { Queryable } from '@bulwark/db';
import type { Address, OrderItem } from '../domain/events.ts';
import type { OrderStatus } from '../domain/order.ts';

export interface OrderSummary {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  items: OrderItem[];
  address: Address | null;
  totalCents: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

interface SummaryRow {
  order_id: string;
  customer_id: string;
  status: OrderStatus;
  items: OrderItem[];
  address: Address | null;
  total_cents: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

function toSummary(r: SummaryRow): OrderSummary {
  return {
    orderId: r.order_id,
    customerId: r.customer_id,
    status: r.status,
    items: r.items,
    address: r.address,
    totalCents: Number(r.total_cents),
    version: r.version,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export async function findOrderSummary(db: Queryable, orderId: string): Promise<OrderSummary | undefined> {
  const { rows } = await db.query<SummaryRow>({ name: 'orders.query.by_id', text: 'SELECT * FROM order_summaries WHERE order_id = $1', values: [orderId] });
  return rows[0] && toSummary(rows[0]);
}

/** Keyset cursor: the (created_at, order_id) of the last row of the previous page. */
export interface OrdersCursor {
  createdAt: string;
  orderId: string;
}

/** A customer's orders, newest first; `after` continues from the previous page's last row (stable under inserts). */
export async function listCustomerOrders(db: Queryable, customerId: string, limit: number, after?: OrdersCursor): Promise<OrderSummary[]> {
  const { rows } = await db.query<SummaryRow>({
    name: 'orders.query.by_customer',
    text: `SELECT * FROM order_summaries
           WHERE customer_id = $1 AND ($2::timestamptz IS NULL OR (created_at, order_id) < ($2::timestamptz, $3::text))
           ORDER BY created_at DESC, order_id DESC
           LIMIT $4`,
    values: [customerId, after?.createdAt ?? null, after?.orderId ?? null, limit],
  });
  return rows.map(toSummary);
}

export async function statusCounts(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; count: string }>({ name: 'orders.query.status_counts', text: 'SELECT status, count::text AS count FROM order_status_counts ORDER BY status' });
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.count)]));
}
