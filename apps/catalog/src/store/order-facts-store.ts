/**
 * The orders projection (`order_facts`, `order_fact_lines`), written by the
 * orders-event consumer, read by review eligibility and the sales summary.
 * Every statement runs in the caller's transaction as the order's tenant.
 */
import type { Queryable } from '@bulwark/db';

export type OrderMilestone = 'placed' | 'confirmed' | 'shipped' | 'cancelled';

async function ensureOrder(db: Queryable, orderId: string, version: number): Promise<void> {
  await db.query({
    name: 'catalog.order_facts_ensure',
    text: `INSERT INTO order_facts (order_id, version) VALUES ($1, $2)
           ON CONFLICT (tenant_id, order_id) DO UPDATE SET version = GREATEST(order_facts.version, EXCLUDED.version)`,
    values: [orderId, version],
  });
}

export async function recordOrderCreated(db: Queryable, orderId: string, version: number, customerSub: string): Promise<void> {
  await ensureOrder(db, orderId, version);
  await db.query({ name: 'catalog.order_facts_customer', text: 'UPDATE order_facts SET customer_sub = $2 WHERE order_id = $1', values: [orderId, customerSub] });
}

/** As orders does: adding a SKU already on the order adds the quantity and takes the new price. */
export async function recordItemAdded(db: Queryable, orderId: string, version: number, item: { sku: string; quantity: number; unitPriceCents: number }): Promise<void> {
  await ensureOrder(db, orderId, version);
  await db.query({
    name: 'catalog.order_fact_lines_add',
    text: `INSERT INTO order_fact_lines (order_id, sku, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, order_id, sku) DO UPDATE SET quantity = order_fact_lines.quantity + EXCLUDED.quantity, unit_price_cents = EXCLUDED.unit_price_cents`,
    values: [orderId, item.sku, item.quantity, item.unitPriceCents],
  });
}

export async function recordItemRemoved(db: Queryable, orderId: string, version: number, sku: string): Promise<void> {
  await ensureOrder(db, orderId, version);
  await db.query({ name: 'catalog.order_fact_lines_remove', text: 'DELETE FROM order_fact_lines WHERE order_id = $1 AND sku = $2', values: [orderId, sku] });
}

const MILESTONE_COLUMN: Record<OrderMilestone, string> = { placed: 'placed_at', confirmed: 'confirmed_at', shipped: 'shipped_at', cancelled: 'cancelled_at' };

/** Stamps a milestone with the event's time (the first stamp wins); `totalCents` with placed. */
export async function recordMilestone(db: Queryable, orderId: string, version: number, milestone: OrderMilestone, at: Date, totalCents?: number): Promise<void> {
  await ensureOrder(db, orderId, version);
  const column = MILESTONE_COLUMN[milestone];
  await db.query({
    name: `catalog.order_facts_${milestone}`,
    text: `UPDATE order_facts SET ${column} = COALESCE(${column}, $2), total_cents = COALESCE($3, total_cents) WHERE order_id = $1`,
    values: [orderId, at, totalCents ?? null],
  });
}

/** A shipped, not cancelled order of `customerSub` holding a variant of the product; its id, or undefined. */
export async function findDeliveredOrderOf(db: Queryable, customerSub: string, productId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ order_id: string }>({
    name: 'catalog.delivered_order_of',
    text: `SELECT f.order_id FROM order_facts f
           JOIN order_fact_lines l ON l.tenant_id = f.tenant_id AND l.order_id = f.order_id
           JOIN variants v ON v.tenant_id = l.tenant_id AND v.sku = l.sku
           WHERE f.customer_sub = $1 AND f.shipped_at IS NOT NULL AND f.cancelled_at IS NULL AND v.product_id = $2
           ORDER BY f.shipped_at LIMIT 1`,
    values: [customerSub, productId],
  });
  return rows[0]?.order_id;
}

export interface SalesDay {
  day: string;
  orders: number;
  revenueCents: number;
  topProducts: { productId: string | null; sku: string; name: string | null; quantity: number; revenueCents: number }[];
}

/**
 * Confirmed (paid), not cancelled orders per UTC day of confirmation in [from, to): their count,
 * revenue (the order totals) and the `top` SKUs by revenue with their products.
 */
export async function salesByDay(db: Queryable, from: Date, to: Date, top: number): Promise<SalesDay[]> {
  const days = await db.query<{ day: string; orders: string; revenue: string }>({
    name: 'catalog.sales_by_day',
    text: `SELECT to_char(date_trunc('day', confirmed_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, count(*) AS orders, COALESCE(sum(total_cents), 0) AS revenue
           FROM order_facts WHERE confirmed_at >= $1 AND confirmed_at < $2 AND cancelled_at IS NULL
           GROUP BY 1 ORDER BY 1`,
    values: [from, to],
  });
  const products = await db.query<{ day: string; sku: string; product_id: string | null; name: string | null; quantity: string; revenue: string }>({
    name: 'catalog.sales_top_products',
    text: `SELECT day, sku, product_id, name, quantity, revenue FROM (
             SELECT d.day, d.sku, v.product_id, p.name, d.quantity, d.revenue,
                    row_number() OVER (PARTITION BY d.day ORDER BY d.revenue DESC, d.sku) AS rank
             FROM (
               SELECT to_char(date_trunc('day', f.confirmed_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, l.sku,
                      sum(l.quantity) AS quantity, sum(l.quantity * l.unit_price_cents) AS revenue
               FROM order_facts f JOIN order_fact_lines l ON l.tenant_id = f.tenant_id AND l.order_id = f.order_id
               WHERE f.confirmed_at >= $1 AND f.confirmed_at < $2 AND f.cancelled_at IS NULL
               GROUP BY 1, 2
             ) d
             LEFT JOIN variants v ON v.sku = d.sku
             LEFT JOIN products p ON p.tenant_id = v.tenant_id AND p.id = v.product_id
           ) ranked WHERE rank <= $3 ORDER BY day, rank`,
    values: [from, to, top],
  });
  return days.rows.map((d) => ({
    day: d.day,
    orders: Number(d.orders),
    revenueCents: Number(d.revenue),
    topProducts: products.rows
      .filter((p) => p.day === d.day)
      .map((p) => ({ productId: p.product_id, sku: p.sku, name: p.name, quantity: Number(p.quantity), revenueCents: Number(p.revenue) })),
  }));
}
