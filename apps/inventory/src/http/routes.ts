/**
 * Thin routes: validated input, the idempotency middleware on every unsafe
 * reservation call (its transaction carries the business writes), one use
 * case, the answer.
 */
import type { RequestHandler } from 'express';
import type { DbPool } from '@bulwark/db';
import { requestTransaction, type IdempotencyLocals } from '@bulwark/idempotency';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { requireServiceToken, SERVICE_TOKEN_ERRORS, SERVICE_TOKEN_HEADERS, type TokenVerifier } from '@bulwark/service-kit/service-auth';
import { confirmReservation, getReservation, getStock, releaseReservation, reserveStock, setStock } from '../domain/reservations.ts';
import { recordStockAdjustment, stockAdjustments } from '../domain/stock-adjustments.ts';
import { inventoryError } from '../errors.ts';
import { listReservationsByOrder } from '../store/stock-store.ts';
import { AdjustmentBody, AdjustmentListQuery, AdjustmentListResponse, AdjustmentResponse, ReservationIdParams, ReservationListQuery, ReservationListResponse, ReservationResponse, ReserveBody, SetStockBody, SkuParams, StockResponse, TransitionResponse } from './schemas.ts';

export interface RouteDeps {
  pool: DbPool;
  idempotency: RequestHandler;
  /** Verifies the service token the reservation routes require (the orders saga's, from identity). */
  serviceTokens: TokenVerifier;
  /** Service clients allowed on the internal routes (INTERNAL_CLIENTS); empty allows any service client. */
  internalClients: readonly string[];
  reservationTtlSeconds: number;
  onTransition?: (transition: 'reserved' | 'confirmed' | 'released' | 'rejected', reservation?: { id: string; orderId: string }) => void;
}

/** The transaction the idempotency middleware opened for this request (every route that calls this mounts it). */
function requestTx(): IdempotencyLocals {
  const locals = requestTransaction();
  if (!locals) throw new Error('no request transaction: the route must mount the idempotency middleware');
  return locals;
}

/** Roles that may adjust stock by hand: the platform admin or a warehouse's inventory admin (as the gateway asks of PUT /skus/:sku). */
const STOCK_ADMIN_ROLES = ['admin', 'inventory-admin'];
const ADMIN_HEADERS = [
  { name: 'x-auth-sub', description: 'The verified subject (set by the gateway); recorded as the actor.', required: true },
  { name: 'x-auth-roles', description: 'Comma-separated verified roles (set by the gateway); admin or inventory-admin.', required: true },
] as const;
const requireStockAdmin: RequestHandler = (req, _res, next) => {
  const roles = (req.get('x-auth-roles') ?? '').split(',').map((r) => r.trim());
  if (!req.get('x-auth-sub') || !roles.some((r) => STOCK_ADMIN_ROLES.includes(r))) return next(inventoryError('INVENTORY_ADMIN_ONLY', 'stock adjustments need the admin or inventory-admin role', { roles: STOCK_ADMIN_ROLES }));
  next();
};

export function registerRoutes(r: RouteRegistrar, deps: RouteDeps): void {
  const { pool } = deps;
  // Reservations are the orders saga's internal API (the gateway routes no /v1/internal): a service token first,
  // and only then the tenant it names in x-auth-tenant reaches the use case; the idempotency store comes after.
  const serviceOnly = requireServiceToken(deps.serviceTokens, { clients: deps.internalClients });
  const internal = { headers: SERVICE_TOKEN_HEADERS, middleware: [serviceOnly] };
  const middleware = [serviceOnly, deps.idempotency];
  const errors = (...codes: string[]) => [...SERVICE_TOKEN_ERRORS, ...codes];

  r.put('/v1/skus/:sku', {
    summary: 'Set the stock on hand of a SKU (admin, test setup); 409 below the reserved units',
    errors: ['INVENTORY_STOCK_BELOW_RESERVED'],
    params: SkuParams,
    body: SetStockBody,
    responses: { 200: StockResponse },
    handler: async ({ params, body }) => ({ status: 200, body: await setStock(pool, params.sku, body.onHand) }),
  });
  r.post('/v1/skus/:sku/adjustments', {
    summary: "Add or take units on hand with a reason (admin; Idempotency-Key required): the stock and the adjustment log change together; 409 below the reserved units",
    errors: ['INVENTORY_ADMIN_ONLY', 'INVENTORY_SKU_NOT_FOUND', 'INVENTORY_STOCK_BELOW_RESERVED'],
    headers: ADMIN_HEADERS,
    params: SkuParams,
    body: AdjustmentBody,
    middleware: [requireStockAdmin, deps.idempotency],
    responses: { 201: AdjustmentResponse },
    handler: async ({ params, body, req }) => {
      const result = await recordStockAdjustment(requestTx().tx, { sku: params.sku, ...body, actor: req.get('x-auth-sub')! });
      return { status: 201, body: result };
    },
  });
  r.get('/v1/skus/:sku/adjustments', {
    summary: "A SKU's stock adjustments, newest first (admin)",
    errors: ['INVENTORY_ADMIN_ONLY', 'INVENTORY_SKU_NOT_FOUND'],
    headers: ADMIN_HEADERS,
    params: SkuParams,
    query: AdjustmentListQuery,
    middleware: [requireStockAdmin],
    responses: { 200: AdjustmentListResponse },
    handler: async ({ params, query }) => ({ status: 200, body: { items: await stockAdjustments(pool, params.sku, query.limit) } }),
  });
  r.get('/v1/skus/:sku', {
    summary: 'Stock of a SKU: onHand, reserved (held), available',
    errors: ['INVENTORY_SKU_NOT_FOUND'],
    params: SkuParams,
    responses: { 200: StockResponse },
    handler: async ({ params }) => ({ status: 200, body: await getStock(pool, params.sku) }),
  });

  r.post('/v1/internal/reservations', {
    summary: 'Hold stock for an order, all or nothing (Idempotency-Key required); 409 insufficient-stock lists the short SKUs',
    errors: errors('INVENTORY_INSUFFICIENT_STOCK', 'INVENTORY_UNKNOWN_SKU'),
    headers: SERVICE_TOKEN_HEADERS,
    body: ReserveBody,
    middleware,
    responses: { 201: ReservationResponse },
    handler: async ({ body }) => {
      try {
        const reservation = await reserveStock(requestTx().tx, { orderId: body.orderId, items: body.items, ttlSeconds: body.ttlSeconds ?? deps.reservationTtlSeconds });
        deps.onTransition?.('reserved', reservation);
        return { status: 201, body: reservation, headers: { location: `/v1/internal/reservations/${reservation.id}` } };
      } catch (err) {
        deps.onTransition?.('rejected');
        throw err;
      }
    },
  });
  r.post('/v1/internal/reservations/:id/confirm', {
    summary: 'Confirm a held reservation (Idempotency-Key required); idempotent; 409 when released or expired',
    errors: errors('INVENTORY_RESERVATION_NOT_FOUND', 'INVENTORY_RESERVATION_NOT_HELD'),
    headers: SERVICE_TOKEN_HEADERS,
    params: ReservationIdParams,
    middleware,
    responses: { 200: TransitionResponse },
    handler: async ({ params }) => {
      const idem = requestTx();
      idem.keepWritesOnFailure(); // an expired hold found here is released even though the answer is 409
      const reservation = await confirmReservation(idem.tx, params.id);
      deps.onTransition?.('confirmed', reservation);
      return { status: 200, body: { id: reservation.id, status: reservation.status } };
    },
  });
  r.post('/v1/internal/reservations/:id/release', {
    summary: 'Release a reservation (Idempotency-Key required); idempotent; a confirmed one puts its stock back',
    errors: errors('INVENTORY_RESERVATION_NOT_FOUND'),
    headers: SERVICE_TOKEN_HEADERS,
    params: ReservationIdParams,
    middleware,
    responses: { 200: TransitionResponse },
    handler: async ({ params }) => {
      const reservation = await releaseReservation(requestTx().tx, params.id);
      deps.onTransition?.('released', reservation);
      return { status: 200, body: { id: reservation.id, status: reservation.status } };
    },
  });
  r.get('/v1/internal/reservations/:id', {
    summary: 'A reservation with its items',
    errors: errors('INVENTORY_RESERVATION_NOT_FOUND'),
    params: ReservationIdParams,
    ...internal,
    responses: { 200: ReservationResponse },
    handler: async ({ params }) => ({ status: 200, body: await getReservation(pool, params.id) }),
  });
  r.get('/v1/internal/reservations', {
    summary: 'Reservations of an order (oldest first, at most 100)',
    errors: errors(),
    query: ReservationListQuery,
    ...internal,
    responses: { 200: ReservationListResponse },
    handler: async ({ query }) => ({ status: 200, body: { reservations: await listReservationsByOrder(pool, query.orderId) } }),
  });
}
