/** Thin query routes over the read models, plus projection and relay status. */
import type { RouteRegistrar } from '@bulwark/service-kit';
import type { DbPool } from '@bulwark/db';
import { ordersError } from '../errors.ts';
import { findOrderSummary, listCustomerOrders, statusCounts, type OrdersCursor } from '../store/read-models.ts';
import { assertActsForItself, ownOrdersOnly } from './ownership.ts';
import { etagOf } from './preconditions.ts';
import { CustomerOrdersQuery, CustomerOrdersResponse, OrderIdParams, OrderSummaryResponse, StatusCountsResponse } from './schemas.ts';
import { z } from 'zod';

function encodeCursor(c: OrdersCursor): string {
  return Buffer.from(JSON.stringify([c.createdAtUs.toString(), c.orderId])).toString('base64url');
}

/** Microseconds since the epoch for PostgreSQL's timestamptz range this API writes (years 1–9999). */
const CURSOR_US = /^-?\d{1,18}$/;
const MIN_US = -62_135_596_800_000_000n; // 0001-01-01
const MAX_US = 253_402_300_799_999_999n; // 9999-12-31T23:59:59.999999
/** Cursors written before microsecond cursors (toISOString, milliseconds): still honoured while clients hold them. */
const LEGACY_CURSOR_TIME = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CURSOR_ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The cursor is opaque to clients but comes back from them: only the exact
 * forms encodeCursor writes (or wrote) pass, so nothing PostgreSQL would
 * refuse, or a NUL smuggled inside the base64, reaches the query as a 500.
 */
function decodeCursor(raw: string): OrdersCursor {
  try {
    const [time, orderId] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof time === 'string' && typeof orderId === 'string' && CURSOR_ORDER_ID.test(orderId)) {
      if (CURSOR_US.test(time)) {
        const createdAtUs = BigInt(time);
        if (createdAtUs >= MIN_US && createdAtUs <= MAX_US) return { createdAtUs, orderId };
      } else if (LEGACY_CURSOR_TIME.test(time) && new Date(time).toISOString() === time) {
        // A millisecond cursor stood for the whole millisecond's end: rows later in it were not on the page either.
        return { createdAtUs: BigInt(Date.parse(time)) * 1000n + 999n, orderId };
      }
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
    middleware: [ownOrdersOnly(db)],
    responses: { 200: OrderSummaryResponse },
    handler: async ({ params }) => {
      const order = await findOrderSummary(db, params.id);
      if (!order) throw ordersError('ORDERS_NOT_FOUND', `order ${params.id} does not exist (or is not projected yet)`, { orderId: params.id });
      return { status: 200, body: order, headers: { etag: etagOf(order.version) } };
    },
  });
  r.get('/customers/:customerId/orders', {
    summary: "A customer's orders, newest first (keyset pagination)",
    errors: ['ORDERS_INVALID_PRECONDITION', 'ORDERS_NOT_YOUR_CUSTOMER'],
    params: z.object({ customerId: z.string().min(1).max(64) }),
    query: CustomerOrdersQuery,
    responses: { 200: CustomerOrdersResponse },
    handler: async ({ params, query, req }) => {
      assertActsForItself(req, params.customerId);
      const { orders, last } = await listCustomerOrders(db, params.customerId, query.limit, query.after === undefined ? undefined : decodeCursor(query.after));
      return { status: 200, body: { orders, nextCursor: last && orders.length === query.limit ? encodeCursor(last) : null } };
    },
  });
  r.get('/order-stats/status-counts', {
    summary: 'How many orders are in each status',
    responses: { 200: StatusCountsResponse },
    handler: async () => ({ status: 200, body: { counts: await statusCounts(db) } }),
  });
}
