/** Thin command routes: parse, resolve the expected version, call the use case, answer with the new version as ETag. */
import type { RouteRegistrar } from '@bulwark/service-kit';
import { addItem, cancelOrder, createOrder, placeOrder, removeItem, setAddress, shipOrder, type CommandResult } from '../domain/order-commands.ts';
import type { OrderRepository } from '../domain/order-repository.ts';
import type { DbPool } from '@bulwark/db';
import { assertActsForItself, assertMayFulfil, ownOrdersOnly } from './ownership.ts';
import { etagOf, expectedVersionOf, IF_MATCH_HEADER } from './preconditions.ts';
import { AddItemBody, CancelBody, CommandResponse, CreateOrderBody, OrderIdParams, SetAddressBody, ShipBody, VersionedBody } from './schemas.ts';
import { z } from 'zod';

/** What a command on an existing order may answer besides validation (documented in /openapi.json). */
const COMMAND_ERRORS = ['ORDERS_NOT_FOUND', 'ORDERS_VERSION_CONFLICT', 'ORDERS_INVALID_STATE', 'ORDERS_RULE_VIOLATED', 'ORDERS_INVALID_PRECONDITION'];

const ok = (result: CommandResult) => ({ status: 200 as const, body: result, headers: { etag: etagOf(result.version) } });

/**
 * `placeHere`: whether this service places orders with `POST /orders/:id/place`. Off when the
 * checkout saga is configured: then `POST /orders/:id/checkout` (checkout-routes.ts) is the one
 * endpoint that places an order, with its saga.
 */
export function registerCommandRoutes(r: RouteRegistrar, orders: OrderRepository, db: DbPool, placeHere: boolean): void {
  const responses = { 200: CommandResponse };
  const middleware = [ownOrdersOnly(db)];
  r.post('/orders', {
    summary: 'Create an order (draft)',
    errors: ['ORDERS_ALREADY_EXISTS', 'ORDERS_NOT_YOUR_CUSTOMER'],
    body: CreateOrderBody,
    responses: { 201: CommandResponse },
    handler: async ({ body, req }) => {
      assertActsForItself(req, body.customerId);
      const result = await createOrder(orders, body);
      return { status: 201, body: result, headers: { etag: etagOf(result.version), location: `/orders/${result.order.orderId}` } };
    },
  });
  r.post('/orders/:id/items', {
    summary: 'Add an item (or more of it) to a draft order',
    errors: COMMAND_ERRORS,
    middleware,
    headers: [IF_MATCH_HEADER],
    params: OrderIdParams,
    body: AddItemBody,
    responses,
    handler: async ({ params, body, req }) => {
      const { expectedVersion, ...item } = body;
      return ok(await addItem(orders, params.id, item, expectedVersionOf(req.get('if-match'), expectedVersion)));
    },
  });
  r.delete('/orders/:id/items/:sku', {
    summary: 'Remove an item from a draft order',
    errors: COMMAND_ERRORS,
    middleware,
    headers: [IF_MATCH_HEADER],
    params: OrderIdParams.extend({ sku: z.string().min(1).max(64) }),
    responses,
    handler: async ({ params, req }) => ok(await removeItem(orders, params.id, params.sku, expectedVersionOf(req.get('if-match'), undefined))),
  });
  r.put('/orders/:id/address', {
    summary: 'Set the shipping address of a draft order',
    errors: COMMAND_ERRORS,
    middleware,
    headers: [IF_MATCH_HEADER],
    params: OrderIdParams,
    body: SetAddressBody,
    responses,
    handler: async ({ params, body, req }) => ok(await setAddress(orders, params.id, body.address, expectedVersionOf(req.get('if-match'), body.expectedVersion))),
  });
  if (placeHere) {
    r.post('/orders/:id/place', {
      summary: 'Place the order (a service without the checkout saga; with it, POST /orders/:id/checkout places)',
      errors: COMMAND_ERRORS,
      middleware,
      headers: [IF_MATCH_HEADER],
      params: OrderIdParams,
      body: VersionedBody,
      responses,
      handler: async ({ params, body, req }) => ok(await placeOrder(orders, params.id, expectedVersionOf(req.get('if-match'), body.expectedVersion))),
    });
  }
  r.post('/orders/:id/cancel', {
    summary: 'Cancel a draft or placed order',
    errors: COMMAND_ERRORS,
    middleware,
    headers: [IF_MATCH_HEADER],
    params: OrderIdParams,
    body: CancelBody,
    responses,
    handler: async ({ params, body, req }) => ok(await cancelOrder(orders, params.id, body.reason, expectedVersionOf(req.get('if-match'), body.expectedVersion))),
  });
  r.post('/orders/:id/ship', {
    summary: 'Mark a placed order shipped (fulfilment)',
    errors: [...COMMAND_ERRORS, 'ORDERS_FULFILMENT_ONLY'],
    middleware,
    headers: [IF_MATCH_HEADER],
    params: OrderIdParams,
    body: ShipBody,
    responses,
    handler: async ({ params, body, req }) => {
      assertMayFulfil(req);
      return ok(await shipOrder(orders, params.id, body.carrier, expectedVersionOf(req.get('if-match'), body.expectedVersion)));
    },
  });
}
