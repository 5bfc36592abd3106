/** Thin query routes over the read models, plus projection and relay status. */
import type { RouteRegistrar } from '@bulwark/service-kit';
import type { DbPool } from '@bulwark/db';
import { ordersError } from '../errors.ts';
import { findOrderSummary, listCustomerOrders, statusCounts, type OrdersCursor } from '../store/read-models.ts';
import { etagOf } from './preconditions.ts';
import { CustomerOrdersQuery, CustomerOrdersResponse, OrderIdParams, OrderSummaryResponse, StatusCountsResponse } from './schemas.ts';
import { z } from 'zod';

function encodeCursor(c: OrdersCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.orderId])).toString('base64url');
}

/** The forms encodeCursor writes: toISOString of a timestamp PostgreSQL can take (years 1–9999), an order id. */
const CURSOR_TIME = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CURSOR_ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The cursor is opaque to clients but comes back from them: only the exact
 * forms encodeCursor writes pass, so nothing that passed Date.parse but not
 * PostgreSQL (`"1"`, `"Tue 2024"`, year 0) or a NUL smuggled inside the
 * base64 reaches the query as a 500.
 */
function decodeCursor(raw: string): OrdersCursor {
  try {
    const [createdAt, orderId] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof createdAt === 'string' && typeof orderId === 'string' && CURSOR_TIME.test(createdAt) && new Date(createdAt).toISOString() === createdAt && CURSOR_ORDER_ID.test(orderId)) {
      return { createdAt, orderId };
    }
  } catch {
    // fall through
  }
  throw ordersError('ORDERS_INVALID_PRECONDITION', 'after is not a cursor returned by this API');
}

export function registerQueryRoutes(r: RouteRegistrar, db: DbPool): void {
  r.get('/orders/:id', {
    summary: 'An order from the read model (eventually consistent; ETag = version it reflects)',
    errors: ['ORDERS_NOT_FOUND'],
    params: OrderIdParams,
    responses: { 200: OrderSummaryResponse },
    handler: async ({ params }) => {
      const order = await findOrderSummary(db, params.id);
      if (!order) throw ordersError('ORDERS_NOT_FOUND', `order ${params.id} does not exist (or is not projected yet)`, { orderId: params.id });
      return { status: 200, body: order, headers: { etag: etagOf(order.version) } };
    },
  });
  r.get('/customers/:customerId/orders', {
    summary: "A customer's orders, newest first (keyset pagination)",
    errors: ['ORDERS_INVALID_PRECONDITION'],
    params: z.object({ customerId: z.string().min(1).max(64) }),
    query: CustomerOrdersQuery,
    responses: { 200: CustomerOrdersResponse },
    handler: async ({ params, query }) => {
      const orders = await listCustomerOrders(db, params.customerId, query.limit, query.after === undefined ? undefined : decodeCursor(query.after));
      const last = orders.at(-1);
      return { status: 200, body: { orders, nextCursor: last && orders.length === query.limit ? encodeCursor(last) : null } };
    },
  });
  r.get('/order-stats/status-counts', {
    summary: 'How many orders are in each status',
    responses: { 200: StatusCountsResponse },
    handler: async () => ({ status: 200, body: { counts: await statusCounts(db) } }),
  });
}
