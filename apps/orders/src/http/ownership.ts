/**
 * Whose order it is. Behind the gateway a request carries the verified
 * principal as x-auth-sub / x-auth-roles (the gateway sets them from
 * identity's token and drops any a client sends; in the cluster only the
 * gateway reaches orders, by mesh policy). With a principal, an order that is
 * not the caller's is answered 404, exactly like one that does not exist, and
 * an order is created only for the caller; an `admin` sees every order.
 * Without one (service-to-service calls, operators on the pod) nothing
 * changes. Tenant isolation below this (row-level security) is issue 25's next step.
 */
import type { Request, RequestHandler } from 'express';
import type { Queryable } from '@bulwark/db';
import { ordersError } from '../errors.ts';

export interface Principal {
  sub: string;
  roles: readonly string[];
}

export const ADMIN_ROLE = 'admin';
/** Marks orders shipped (a warehouse, not a customer). */
export const FULFILMENT_ROLE = 'fulfilment';

export function principalOf(req: Request): Principal | undefined {
  const sub = req.get('x-auth-sub');
  if (!sub) return undefined;
  const roles = (req.get('x-auth-roles') ?? '').split(',').map((r) => r.trim()).filter(Boolean);
  return { sub, roles };
}

const seesAll = (p: Principal): boolean => p.roles.includes(ADMIN_ROLE);

/** The order's customer (from its first event), or undefined when there is no such order. */
async function customerOf(db: Queryable, orderId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ customer: string | null }>({
    name: 'orders.owner',
    text: "SELECT data->>'customerId' AS customer FROM events WHERE stream_id = $1 AND version = 1",
    values: [orderId],
  });
  return rows[0]?.customer ?? undefined;
}

/** Middleware for `/orders/:id…`: a principal reaches only its own orders (404 otherwise). */
export function ownOrdersOnly(db: Queryable): RequestHandler {
  return (req, _res, next) => {
    const principal = principalOf(req);
    const orderId = req.params.id;
    if (!principal || seesAll(principal) || typeof orderId !== 'string') return next();
    customerOf(db, orderId).then((customer) => {
      // An order that does not exist goes on to the handler, which answers its own 404.
      if (customer !== undefined && customer !== principal.sub) return next(ordersError('ORDERS_NOT_FOUND', `order ${orderId} does not exist`, { orderId }));
      next();
    }, next);
  };
}

/** A principal acts for itself only: another customer's id is refused (403). */
export function assertActsForItself(req: Request, customerId: string): void {
  const principal = principalOf(req);
  if (principal && !seesAll(principal) && principal.sub !== customerId) {
    throw ordersError('ORDERS_NOT_YOUR_CUSTOMER', `the caller is ${principal.sub}, not customer ${customerId}`, { customerId });
  }
}

/** Shipping is fulfilment's: behind the gateway a caller without that role (or admin) is refused, even on its own order (403). */
export function assertMayFulfil(req: Request): void {
  const principal = principalOf(req);
  if (principal && !seesAll(principal) && !principal.roles.includes(FULFILMENT_ROLE)) {
    throw ordersError('ORDERS_FULFILMENT_ONLY', `shipping needs the ${FULFILMENT_ROLE} role`, { role: FULFILMENT_ROLE });
  }
}
