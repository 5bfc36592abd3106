/** Checkout routes: start the saga (places the order) and read its progress. */
import type { RequestHandler } from 'express';
import type { DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { ordersError } from '../errors.ts';
import type { SagaState } from '../saga/checkout-saga.ts';
import { findSagaByOrder, sagaSteps } from '../store/saga-store.ts';
import { checkout, type CheckoutSettings } from '../domain/checkout.ts';
import type { UnitOfWork } from '../domain/unit-of-work.ts';
import { expectedVersionOf, IF_MATCH_HEADER } from './preconditions.ts';
import { CheckoutResponse, CheckoutStatusResponse, OrderIdParams, VersionedBody } from './schemas.ts';
import { ownOrdersOnly } from './ownership.ts';

function view(s: SagaState) {
  return {
    sagaId: s.sagaId,
    orderId: s.orderId,
    status: s.status,
    step: s.step,
    amountCents: s.amountCents,
    currency: s.currency,
    reservationId: s.reservationId,
    paymentId: s.paymentId,
    failure: s.failure,
    deadlineAt: new Date(s.deadlineAt).toISOString(),
  };
}

/**
 * The one endpoint that places an order when the checkout saga is configured.
 * `idempotency`: the Idempotency-Key middleware (packages/idempotency); the
 * unit of work joins its request transaction, so the stored response and the
 * placed order + saga commit together.
 */
export function registerCheckoutRoutes(r: RouteRegistrar, pool: DbPool, uow: UnitOfWork, settings: CheckoutSettings, onStarted: () => void, idempotency?: RequestHandler): void {
  r.post('/orders/:id/checkout', {
    summary: 'Place the order and start its checkout saga (reserve stock → authorize → confirm → capture); needs an Idempotency-Key; a checkout of an order that has a saga answers that saga',
    errors: ['ORDERS_NOT_FOUND', 'ORDERS_VERSION_CONFLICT', 'ORDERS_INVALID_STATE', 'ORDERS_RULE_VIOLATED', 'ORDERS_INVALID_PRECONDITION'],
    headers: [IF_MATCH_HEADER],
    params: OrderIdParams,
    body: VersionedBody,
    responses: { 202: CheckoutResponse, 200: CheckoutResponse },
    // Ownership first: another customer's order never reaches (or consumes) an Idempotency-Key.
    middleware: idempotency ? [ownOrdersOnly(pool), idempotency] : [ownOrdersOnly(pool)],
    handler: async ({ params, body, req }) => {
      const result = await checkout(uow, params.id, settings, expectedVersionOf(req.get('if-match'), body.expectedVersion));
      const headers = { location: `/orders/${params.id}/checkout` };
      if (!result.created) return { status: 200 as const, body: view(result.saga), headers };
      onStarted();
      return { status: 202 as const, body: view(result.saga), headers };
    },
  });
  r.get('/orders/:id/checkout', {
    summary: 'Checkout saga status and step log of an order',
    errors: ['ORDERS_NOT_FOUND'],
    params: OrderIdParams,
    middleware: [ownOrdersOnly(pool)],
    responses: { 200: CheckoutStatusResponse },
    handler: async ({ params }) => {
      const row = await findSagaByOrder(pool, params.id);
      if (!row) throw ordersError('ORDERS_NOT_FOUND', `order ${params.id} has no checkout`, { orderId: params.id });
      const steps = await sagaSteps(pool, row.state.sagaId);
      return { status: 200, body: { ...view(row.state), expired: row.expired, steps: steps.map((s) => ({ ...s, at: s.at.toISOString() })) } };
    },
  });
}
