/**
 * Thin routes: validated input, the idempotency middleware on every unsafe
 * reservation call (its transaction carries the business writes), one use
 * case, the answer.
 */
import type { RequestHandler, Response } from 'express';
import type { DbPool } from '@bulwark/db';
import type { IdempotencyLocals } from '@bulwark/idempotency';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { confirmReservation, getReservation, getStock, releaseReservation, reserveStock, setStock } from '../domain/reservations.ts';
import { listReservationsByOrder } from '../store/stock-store.ts';
import { ReservationIdParams, ReservationListQuery, ReservationListResponse, ReservationResponse, ReserveBody, SetStockBody, SkuParams, StockResponse, TransitionResponse } from './schemas.ts';

export interface RouteDeps {
  pool: DbPool;
  idempotency: RequestHandler;
  reservationTtlSeconds: number;
  onTransition?: (transition: 'reserved' | 'confirmed' | 'released' | 'rejected', reservation?: { id: string; orderId: string }) => void;
}

/** The transaction the idempotency middleware opened for this request. */
function txOf(res: Response): IdempotencyLocals {
  return res.locals.idempotency as IdempotencyLocals;
}

export function registerRoutes(r: RouteRegistrar, deps: RouteDeps): void {
  const { pool } = deps;
  const middleware = [deps.idempotency];

  r.put('/v1/skus/:sku', {
    summary: 'Set the stock on hand of a SKU (admin, test setup); 409 below the reserved units',
    errors: ['INVENTORY_STOCK_BELOW_RESERVED'],
    params: SkuParams,
    body: SetStockBody,
    responses: { 200: StockResponse },
    handler: async ({ params, body }) => ({ status: 200, body: await setStock(pool, params.sku, body.onHand) }),
  });
  r.get('/v1/skus/:sku', {
    summary: 'Stock of a SKU: onHand, reserved (held), available',
    errors: ['INVENTORY_SKU_NOT_FOUND'],
    params: SkuParams,
    responses: { 200: StockResponse },
    handler: async ({ params }) => ({ status: 200, body: await getStock(pool, params.sku) }),
  });

  r.post('/v1/reservations', {
    summary: 'Hold stock for an order, all or nothing (Idempotency-Key required); 409 insufficient-stock lists the short SKUs',
    errors: ['INVENTORY_INSUFFICIENT_STOCK', 'INVENTORY_UNKNOWN_SKU'],
    body: ReserveBody,
    middleware,
    responses: { 201: ReservationResponse },
    handler: async ({ body, res }) => {
      try {
        const reservation = await reserveStock(txOf(res).tx, { orderId: body.orderId, items: body.items, ttlSeconds: body.ttlSeconds ?? deps.reservationTtlSeconds });
        deps.onTransition?.('reserved', reservation);
        return { status: 201, body: reservation, headers: { location: `/v1/reservations/${reservation.id}` } };
      } catch (err) {
        deps.onTransition?.('rejected');
        throw err;
      }
    },
  });
  r.post('/v1/reservations/:id/confirm', {
    summary: 'Confirm a held reservation (Idempotency-Key required); idempotent; 409 when released or expired',
    errors: ['INVENTORY_RESERVATION_NOT_FOUND', 'INVENTORY_RESERVATION_NOT_HELD'],
    params: ReservationIdParams,
    middleware,
    responses: { 200: TransitionResponse },
    handler: async ({ params, res }) => {
      const idem = txOf(res);
      idem.keepWritesOnFailure(); // an expired hold found here is released even though the answer is 409
      const reservation = await confirmReservation(idem.tx, params.id);
      deps.onTransition?.('confirmed', reservation);
      return { status: 200, body: { id: reservation.id, status: reservation.status } };
    },
  });
  r.post('/v1/reservations/:id/release', {
    summary: 'Release a reservation (Idempotency-Key required); idempotent; a confirmed one puts its stock back',
    errors: ['INVENTORY_RESERVATION_NOT_FOUND'],
    params: ReservationIdParams,
    middleware,
    responses: { 200: TransitionResponse },
    handler: async ({ params, res }) => {
      const reservation = await releaseReservation(txOf(res).tx, params.id);
      deps.onTransition?.('released', reservation);
      return { status: 200, body: { id: reservation.id, status: reservation.status } };
    },
  });
  r.get('/v1/reservations/:id', {
    summary: 'A reservation with its items',
    errors: ['INVENTORY_RESERVATION_NOT_FOUND'],
    params: ReservationIdParams,
    responses: { 200: ReservationResponse },
    handler: async ({ params }) => ({ status: 200, body: await getReservation(pool, params.id) }),
  });
  r.get('/v1/reservations', {
    summary: 'Reservations of an order (oldest first, at most 100)',
    query: ReservationListQuery,
    responses: { 200: ReservationListResponse },
    handler: async ({ query }) => ({ status: 200, body: { reservations: await listReservationsByOrder(pool, query.orderId) } }),
  });
}
