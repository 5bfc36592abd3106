/**
 * What each saga step does, against the inventory and payments HTTP
 * contracts (docs: /tmp checkout contracts, README "Checkout saga"), and how
 * each answer maps to a StepOutcome: 2xx → ok; a definitive business "no"
 * (409 insufficient stock, 402 declined, 409 impossible transition) →
 * rejected; timeouts, 5xx, network, open circuit → transient (the runner
 * retries under the same Idempotency-Key). Compensations look the
 * reservation/payment up by order id when the saga never learned its id (the
 * forward call's answer was lost), so an unknown outcome is undone too.
 */
import type { OrderRepository } from '../domain/order-repository.ts';
import { idempotencyKey, type SagaState, type SagaStep, type StepOutcome } from './checkout-saga.ts';
import { TransientCallError, type ServiceClient, type ServiceResponse } from './service-client.ts';
import type { IdempotencyErrorCode } from '@bulwark/idempotency';

export interface StepDeps {
  inventory: ServiceClient;
  payments: ServiceClient;
  orders: OrderRepository;
  reservationTtlSeconds: number;
}

const rejected = (reason: string): StepOutcome => ({ kind: 'rejected', reason });

function problemReason(res: ServiceResponse, fallback: string): string {
  const type = typeof res.body?.type === 'string' ? (res.body.type as string).split('/').pop() : undefined;
  return type && type !== 'about:blank' ? type : `${fallback}-${res.status}`;
}

const KEY_IN_FLIGHT: IdempotencyErrorCode = 'IDEMPOTENCY_KEY_IN_FLIGHT';

/** 409 from the idempotency layer (packages/idempotency's code): the same key is still being processed, so the outcome is not known yet. */
function keyInFlight(res: ServiceResponse): boolean {
  return res.status === 409 && res.body?.code === KEY_IN_FLIGHT;
}

async function call(client: ServiceClient, method: 'GET' | 'POST', path: string, options?: { body?: unknown; idempotencyKey?: string }): Promise<ServiceResponse> {
  const res = await client.call(method, path, options);
  if (keyInFlight(res)) throw new TransientCallError(`${client.name}: request with this key still in flight`);
  return res;
}

/** A list answer in any of the usual shapes: an array, or { items | data | reservations | payments: [] }. */
function listOf(res: ServiceResponse): { id: string; status: string }[] {
  const b = res.body;
  const list: unknown = Array.isArray(b) ? b : (b?.items ?? b?.data ?? b?.reservations ?? b?.payments ?? []);
  return Array.isArray(list) ? (list as { id: string; status: string }[]) : [];
}

async function reserveStock(s: SagaState, d: StepDeps): Promise<StepOutcome> {
  const res = await call(d.inventory, 'POST', '/v1/internal/reservations', {
    body: { orderId: s.orderId, items: s.items, ttlSeconds: d.reservationTtlSeconds },
    idempotencyKey: idempotencyKey(s.sagaId, 'reserve_stock'),
  });
  if (res.status === 201 || res.status === 200) return { kind: 'ok', reservationId: String(res.body.id) };
  if (res.status === 409) return rejected('insufficient-stock');
  return rejected(problemReason(res, 'inventory'));
}

async function authorizePayment(s: SagaState, d: StepDeps): Promise<StepOutcome> {
  const res = await call(d.payments, 'POST', '/v1/internal/payments', {
    body: { orderId: s.orderId, amount: s.amountCents, currency: s.currency },
    idempotencyKey: idempotencyKey(s.sagaId, 'authorize_payment'),
  });
  if (res.status === 201 || res.status === 200) {
    if (res.body?.status !== undefined && res.body.status !== 'authorized') return rejected(`payment-${String(res.body.status)}`);
    return { kind: 'ok', paymentId: String(res.body.id) };
  }
  if (res.status === 402) return rejected('payment-declined');
  return rejected(problemReason(res, 'payments'));
}

async function confirmOrder(s: SagaState, d: StepDeps): Promise<StepOutcome> {
  const { state } = await d.orders.load(s.orderId);
  if (!state) return rejected('order-missing');
  if (state.status === 'cancelled') return rejected('order-cancelled');
  if (state.status !== 'placed' && state.status !== 'confirmed') return rejected(`order-${state.status}`);
  const res = await call(d.inventory, 'POST', `/v1/internal/reservations/${encodeURIComponent(s.reservationId!)}/confirm`, { idempotencyKey: idempotencyKey(s.sagaId, 'confirm_order') });
  if (res.status === 200) return { kind: 'ok' };
  if (res.status === 409 || res.status === 404) return rejected('reservation-not-held');
  return rejected(problemReason(res, 'inventory'));
}

async function capturePayment(s: SagaState, d: StepDeps): Promise<StepOutcome> {
  const res = await call(d.payments, 'POST', `/v1/internal/payments/${encodeURIComponent(s.paymentId!)}/capture`, { idempotencyKey: idempotencyKey(s.sagaId, 'capture_payment') });
  if (res.status === 200) return { kind: 'ok' };
  if (res.status === 409) return rejected('capture-refused');
  return rejected(problemReason(res, 'payments'));
}

/** Voids every authorized payment of the order and refunds every captured one. */
async function voidPayment(s: SagaState, d: StepDeps): Promise<StepOutcome> {
  const listed = await call(d.payments, 'GET', `/v1/internal/payments?orderId=${encodeURIComponent(s.orderId)}`);
  if (listed.status !== 200) return rejected(problemReason(listed, 'payments'));
  const key = idempotencyKey(s.sagaId, 'void_payment');
  for (const p of listOf(listed)) {
    const action = p.status === 'authorized' ? 'void' : p.status === 'captured' ? 'refund' : undefined;
    if (!action) continue;
    const res = await call(d.payments, 'POST', `/v1/internal/payments/${encodeURIComponent(p.id)}/${action}`, { body: {}, idempotencyKey: p.id === s.paymentId ? key : `${key}:${p.id}` });
    if (res.status !== 200) return rejected(problemReason(res, 'payments'));
  }
  return { kind: 'ok' };
}

/** Releases the saga's reservation, or every reservation of the order when the saga never learned its id. */
async function releaseStock(s: SagaState, d: StepDeps): Promise<StepOutcome> {
  const key = idempotencyKey(s.sagaId, 'release_stock');
  let ids: string[];
  if (s.reservationId) ids = [s.reservationId];
  else {
    const listed = await call(d.inventory, 'GET', `/v1/internal/reservations?orderId=${encodeURIComponent(s.orderId)}`);
    if (listed.status !== 200) return rejected(problemReason(listed, 'inventory'));
    ids = listOf(listed)
      .filter((r) => r.status === 'held' || r.status === 'confirmed')
      .map((r) => r.id);
  }
  for (const id of ids) {
    const res = await call(d.inventory, 'POST', `/v1/internal/reservations/${encodeURIComponent(id)}/release`, { idempotencyKey: id === s.reservationId ? key : `${key}:${id}` });
    if (res.status !== 200 && res.status !== 404) return rejected(problemReason(res, 'inventory'));
  }
  return { kind: 'ok' };
}

const STEPS: Record<SagaStep, (s: SagaState, d: StepDeps) => Promise<StepOutcome>> = {
  reserve_stock: reserveStock,
  authorize_payment: authorizePayment,
  confirm_order: confirmOrder,
  capture_payment: capturePayment,
  void_payment: voidPayment,
  release_stock: releaseStock,
  mark_failed: async () => ({ kind: 'ok' }),
};

/** Runs the saga's current step once. Never throws: failures become outcomes. */
export async function executeStep(state: SagaState, deps: StepDeps): Promise<StepOutcome> {
  if (!state.step) return { kind: 'ok' };
  try {
    return await STEPS[state.step](state, deps);
  } catch (err) {
    if (err instanceof TransientCallError) return { kind: 'transient', reason: err.reason };
    return { kind: 'transient', reason: err instanceof Error ? err.message : String(err) };
  }
}
