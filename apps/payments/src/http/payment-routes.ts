/**
 * Thin payment routes: validated input, the idempotency middleware (key
 * required; a replay never reaches the handler), one use case writing through
 * the middleware's transaction, the answer. The same routes are registered
 * twice: under /v1/payments for the gateway (which verified the user and sets
 * x-auth-tenant), and under /v1/internal/payments for the orders saga, where
 * a service token is required before anything else (the gateway routes no
 * /v1/internal, so the tenant header there is honoured only with that token).
 */
import type { RequestHandler } from 'express';
import type { DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { requireServiceToken, SERVICE_TOKEN_ERRORS, SERVICE_TOKEN_HEADERS, type TokenVerifier } from '@bulwark/service-kit/service-auth';
import { authorizePayment } from '../domain/authorize-payment.ts';
import { changePayment } from '../domain/change-payment.ts';
import type { Operation } from '../domain/payment-rules.ts';
import { paymentsError } from '../errors.ts';
import { failureOutcome, type PaymentsMetrics } from '../metrics.ts';
import type { PspClient } from '../clients/psp.ts';
import { findPayment, listPaymentsByOrder } from '../store/payments-store.ts';
import { requestTenant, requireKey, txSourceOf } from './idempotency-key.ts';
import { AmountBody, AuthorizedResponse, ChangeResponse, CreatePaymentBody, EmptyBody, PaymentIdParams, PaymentListQuery, PaymentListResponse, PaymentResponse } from './schemas.ts';

export interface PaymentRoutesDeps {
  pool: DbPool;
  psp: PspClient;
  forwardSimulate: boolean;
  metrics: PaymentsMetrics;
  /** @bulwark/idempotency middleware (stored responses, 422 on reuse, waits for an in-flight duplicate). */
  idempotency: RequestHandler;
}

/** Counts the outcome of one operation and passes the result or the error through. */
async function counted<T extends { replayed: boolean }>(metrics: PaymentsMetrics, operation: string, work: Promise<T>): Promise<T> {
  try {
    const result = await work;
    metrics.operations.inc({ operation, outcome: result.replayed ? 'replayed' : 'ok' });
    return result;
  } catch (err) {
    metrics.operations.inc({ operation, outcome: failureOutcome(err) });
    throw err;
  }
}

const replayHeaders = (replayed: boolean): Record<string, string> => (replayed ? { 'idempotent-replayed': 'true' } : {});

/** The public routes (gateway) and the saga's internal ones (service token required). */
export function registerPaymentRoutes(r: RouteRegistrar, deps: PaymentRoutesDeps & { serviceTokens: TokenVerifier; internalClients: readonly string[] }): void {
  registerPaymentRoutesAt(r, deps, '/v1/payments');
  registerPaymentRoutesAt(r, deps, '/v1/internal/payments', requireServiceToken(deps.serviceTokens, { clients: deps.internalClients }));
}

function registerPaymentRoutesAt(r: RouteRegistrar, deps: PaymentRoutesDeps, base: string, serviceOnly?: RequestHandler): void {
  const simulateOf = (header: string | undefined) => (deps.forwardSimulate ? header : undefined);
  // Internal: the token is checked first, before the idempotency store sees the request.
  const guard = serviceOnly ? { headers: SERVICE_TOKEN_HEADERS, middleware: [serviceOnly] } : {};
  const errors = (...codes: string[]) => (serviceOnly ? [...SERVICE_TOKEN_ERRORS, ...codes] : codes);
  const idempotent = [...(serviceOnly ? [serviceOnly] : []), deps.idempotency];

  r.post(base, {
    summary: 'Authorize a payment (Idempotency-Key required); 402 payment-declined when the PSP declines',
    errors: errors('PAYMENTS_IDEMPOTENCY_KEY_REQUIRED', 'PAYMENTS_IDEMPOTENCY_KEY_REUSED', 'PAYMENTS_AMOUNT_INVALID', 'PAYMENT_DECLINED', 'PAYMENTS_AUTHORIZATION_VOIDED', 'PAYMENTS_PSP_REQUEST_REJECTED', 'PAYMENTS_PSP_TIMEOUT', 'PAYMENTS_PSP_UNAVAILABLE'),
    ...guard,
    body: CreatePaymentBody,
    middleware: idempotent,
    responses: { 201: AuthorizedResponse },
    handler: async ({ body, req }) => {
      const key = requireKey(req);
      const { payment, replayed } = await counted(deps.metrics, 'authorize', authorizePayment(txSourceOf(deps.pool), deps.psp, { key, tenant: requestTenant(), ...body, simulate: simulateOf(req.get('psp-simulate')) }));
      return { status: 201, body: payment, headers: { location: `${base}/${payment.id}`, ...replayHeaders(replayed) } };
    },
  });

  const change = (operation: Operation, body: typeof AmountBody | typeof EmptyBody) =>
    r.post(`${base}/:id/${operation}`, {
      summary: `${operation[0]!.toUpperCase()}${operation.slice(1)} a payment (Idempotency-Key required); 409 when the transition is impossible`,
      errors: errors('PAYMENTS_IDEMPOTENCY_KEY_REQUIRED', 'PAYMENTS_IDEMPOTENCY_KEY_REUSED', 'PAYMENTS_AMOUNT_INVALID', 'PAYMENTS_NOT_FOUND', 'PAYMENTS_INVALID_TRANSITION', 'PAYMENTS_AMOUNT_TOO_LARGE', 'PAYMENTS_PSP_REQUEST_REJECTED', 'PAYMENTS_PSP_TIMEOUT', 'PAYMENTS_PSP_UNAVAILABLE'),
      ...guard,
      params: PaymentIdParams,
      body,
      middleware: idempotent,
      responses: { 200: ChangeResponse },
      handler: async ({ params, body: b, req }) => {
        const key = requireKey(req);
        const amount = (b as { amount?: number }).amount;
        const result = await counted(deps.metrics, operation, changePayment(txSourceOf(deps.pool), deps.psp, { key, tenant: requestTenant(), paymentId: params.id, operation, amount, simulate: simulateOf(req.get('psp-simulate')) }));
        return { status: 200, body: result.body, headers: replayHeaders(result.replayed) };
      },
    });
  change('capture', AmountBody);
  change('void', EmptyBody);
  change('refund', AmountBody);

  r.get(`${base}/:id`, {
    summary: 'A payment',
    errors: errors('PAYMENTS_NOT_FOUND'),
    ...guard,
    params: PaymentIdParams,
    responses: { 200: PaymentResponse },
    handler: async ({ params }) => {
      const payment = await findPayment(deps.pool, params.id);
      if (!payment || payment.status === 'pending') throw paymentsError('PAYMENTS_NOT_FOUND', `no payment ${params.id}`, { extensions: { paymentId: params.id } });
      return { status: 200, body: payment };
    },
  });
  r.get(base, {
    summary: 'Payments of an order',
    errors: errors(),
    ...guard,
    query: PaymentListQuery,
    responses: { 200: PaymentListResponse },
    handler: async ({ query }) => ({ status: 200, body: { payments: (await listPaymentsByOrder(deps.pool, query.orderId)).filter((p) => p.status !== 'pending') } }),
  });
}
