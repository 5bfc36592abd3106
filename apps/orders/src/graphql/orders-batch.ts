/** Order summaries by id in one statement (the Order entity's DataLoader); the caller's tenant applies by row-level security. */
import type { Queryable } from '@bulwark/db';
import type { OrderItem } from '../domain/events.ts';
import type { OrderSummary } from '../store/read-models.ts';

interface Row {
  order_id: string;
  customer_id: string;
  status: OrderSummary['status'];
  items: OrderItem[];
  total_cents: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export async function orderSummariesByIds(db: Queryable, ids: readonly string[]): Promise<Map<string, OrderSummary>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<Row>({
    name: 'orders.graphql.summaries_by_ids',
    text: 'SELECT order_id, customer_id, status, items, total_cents, version, created_at, updated_at FROM order_summaries WHERE order_id = ANY($1::text[])',
    values: [ids],
  });
  return new Map(
    rows.map((r) => [
      r.order_id,
      {
        orderId: r.order_id,
        customerId: r.customer_id,
        status: r.status,
        items: r.items,
        address: null,
        totalCents: Number(r.total_cents),
        version: r.version,
        createdAt: r.created_at.toISOString(),
        updatedAt: r.updated_at.toISOString(),
      },
    ]),
  );
}
