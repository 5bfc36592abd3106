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

/**
 * Keyset cursor: the (created_at, order_id) of the last row of the previous
 * page, the time in whole microseconds since the epoch (PostgreSQL's own
 * precision: a millisecond cursor skipped rows created later within the same
 * millisecond as the page's last row).
 */
export interface OrdersCursor {
  createdAtUs: bigint;
  orderId: string;
}

/** A customer's orders, newest first; `after` continues from the previous page's last row (stable under inserts). */
export async function listCustomerOrders(db: Queryable, customerId: string, limit: number, after?: OrdersCursor): Promise<{ orders: OrderSummary[]; last: OrdersCursor | undefined }> {
  const { rows } = await db.query<SummaryRow & { created_at_us: string }>({
    name: 'orders.query.by_customer',
    text: `SELECT *, (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_at_us FROM order_summaries
           WHERE customer_id = $1 AND ($2::bigint IS NULL OR (created_at, order_id) < ('epoch'::timestamptz + $2::bigint * interval '1 microsecond', $3::text))
           ORDER BY created_at DESC, order_id DESC
           LIMIT $4`,
    values: [customerId, after?.createdAtUs.toString() ?? null, after?.orderId ?? null, limit],
  });
  const last = rows.at(-1);
  return { orders: rows.map(toSummary), last: last && { createdAtUs: BigInt(last.created_at_us), orderId: last.order_id } };
}

export async function statusCounts(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; count: string }>({ name: 'orders.query.status_counts', text: 'SELECT status, count::text AS count FROM order_status_counts ORDER BY status' });
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.count)]));
}
