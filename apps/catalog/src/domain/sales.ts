/**
 * The admin's sales summary: confirmed (paid) orders per UTC day, their
 * revenue and top products, read from the orders projection catalog keeps
 * from orders' events (`order_facts`), so it never calls orders.
 */
import { withTransaction, type DbPool } from '@bulwark/db';
import { salesByDay, type SalesDay } from '../store/order-facts-store.ts';

export interface SalesSummary {
  from: string;
  to: string;
  totals: { orders: number; revenueCents: number };
  days: SalesDay[];
}

/** `from` and `to` are UTC days (YYYY-MM-DD), both included. */
export async function salesSummary(pool: DbPool, from: string, to: string, top: number): Promise<SalesSummary> {
  const start = new Date(`${from}T00:00:00Z`);
  const end = new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000);
  const days = await withTransaction(pool, (tx) => salesByDay(tx, start, end, top));
  return {
    from,
    to,
    totals: { orders: days.reduce((n, d) => n + d.orders, 0), revenueCents: days.reduce((n, d) => n + d.revenueCents, 0) },
    days,
  };
}
