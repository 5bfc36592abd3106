/**
 * The checkout saga's state machine, pure: given the persisted state and the
 * outcome of the step that just ran, decide the next state and the domain
 * event to append to the order stream. No I/O, no clock (the caller passes
 * `now`), so every path is unit-tested.
 *
 * Forward: reserve_stock → authorize_payment → confirm_order → capture_payment.
 * Compensation (reverse order, only what may have taken effect):
 * void_payment → release_stock → mark_failed.
 * A rejected step (business "no": insufficient stock, declined, 409) had no
 * effect, so only the steps before it are compensated. A step that keeps
 * failing transiently is retried with backoff until the saga's deadline; past
 * it the saga compensates including that step (its outcome is unknown), and
 * the expiry is reported so it is counted and alerted.
 */
import { backoffCeiling } from '@bulwark/service-kit/backoff';

export const FORWARD_STEPS = ['reserve_stock', 'authorize_payment', 'confirm_order', 'capture_payment'] as const;
export const COMPENSATION_STEPS = ['void_payment', 'release_stock', 'mark_failed'] as const;
export type ForwardStep = (typeof FORWARD_STEPS)[number];
export type CompensationStep = (typeof COMPENSATION_STEPS)[number];
export type SagaStep = ForwardStep | CompensationStep;
export type SagaStatus = 'running' | 'compensating' | 'completed' | 'failed';

export interface SagaItem {
  sku: string;
  quantity: number;
}

export interface SagaState {
  sagaId: string;
  orderId: string;
  /** The order's customer (identity account id), carried into OrderConfirmed; absent in sagas started before it was kept. */
  customerId?: string;
  status: SagaStatus;
  /** The step to run next; null once completed or failed. */
  step: SagaStep | null;
  /** Failed attempts of the current step. */
  attempts: number;
  amountCents: number;
  currency: string;
  items: SagaItem[];
  reservationId: string | null;
  paymentId: string | null;
  /** Compensations still to run after `step` (when compensating). */
  pendingCompensations: CompensationStep[];
  /** Why the saga compensates: the step and reason. */
  failure: { step: SagaStep; reason: string } | null;
  /** Epoch ms: forward progress must be done by then. */
  deadlineAt: number;
  /** Epoch ms: earliest time the current step may run (backoff). */
  nextAttemptAt: number;
}

export type StepOutcome =
  | { kind: 'ok'; reservationId?: string; paymentId?: string }
  /** A definitive business "no": the step had no effect. */
  | { kind: 'rejected'; reason: string }
  /** Timeout, 5xx, network, breaker open: outcome unknown, retry with the same key. */
  | { kind: 'transient'; reason: string };

/** Domain events the saga appends to the order stream (published to Kafka by the CDC relay). */
export type SagaEvent =
  | { type: 'StockReserved'; data: { sagaId: string; reservationId: string } }
  | { type: 'PaymentAuthorized'; data: { sagaId: string; paymentId: string; amountCents: number; currency: string } }
  | { type: 'OrderConfirmed'; data: { sagaId: string; customerId?: string } }
  | { type: 'PaymentCaptured'; data: { sagaId: string; paymentId: string } }
  | { type: 'PaymentVoided'; data: { sagaId: string } }
  | { type: 'StockReleased'; data: { sagaId: string } }
  | { type: 'CheckoutFailed'; data: { sagaId: string; step: string; reason: string } };

export interface SagaPolicy {
  /** Backoff of a retried step: base · 2^(attempts-1), capped. */
  retryBaseMs: number;
  retryCapMs: number;
}

export interface Decision {
  state: SagaState;
  event?: SagaEvent;
  /** True when this decision gave up on a forward step because the deadline passed. */
  expired: boolean;
}

export function isTerminal(status: SagaStatus): boolean {
  return status === 'completed' || status === 'failed';
}

export function isForwardStep(step: SagaStep): step is ForwardStep {
  return (FORWARD_STEPS as readonly string[]).includes(step);
}

/** The Idempotency-Key of a step: `${sagaId}:${step}`; a compensation is keyed by the forward step it undoes. */
export function idempotencyKey(sagaId: string, step: SagaStep): string {
  if (step === 'void_payment') return `${sagaId}:authorize_payment:compensate`;
  if (step === 'release_stock') return `${sagaId}:reserve_stock:compensate`;
  return `${sagaId}:${step}`;
}

export function newSaga(input: { sagaId: string; orderId: string; customerId?: string; amountCents: number; currency: string; items: SagaItem[]; now: number; deadlineMs: number }): SagaState {
  return {
    sagaId: input.sagaId,
    orderId: input.orderId,
    ...(input.customerId === undefined ? {} : { customerId: input.customerId }),
    status: 'running',
    step: 'reserve_stock',
    attempts: 0,
    amountCents: input.amountCents,
    currency: input.currency,
    items: input.items,
    reservationId: null,
    paymentId: null,
    pendingCompensations: [],
    failure: null,
    deadlineAt: input.now + input.deadlineMs,
    nextAttemptAt: input.now,
  };
}

/**
 * The compensations owed when forward progress stops at `step`: undo every
 * step before it, and `step` itself too when its outcome is unknown.
 */
export function compensationsFor(step: ForwardStep, includeStep: boolean): CompensationStep[] {
  const reached = FORWARD_STEPS.indexOf(step) + (includeStep ? 1 : 0);
  const done = FORWARD_STEPS.slice(0, reached);
  const owed: CompensationStep[] = [];
  // capture happens last: a saga never compensates after a successful capture, but an unknown capture is undone by void_payment (which refunds).
  if (done.includes('authorize_payment') || done.includes('capture_payment')) owed.push('void_payment');
  if (done.includes('reserve_stock') || done.includes('confirm_order')) owed.push('release_stock');
  owed.push('mark_failed');
  return owed;
}

function startCompensation(state: SagaState, failedStep: ForwardStep, reason: string, includeStep: boolean, now: number): SagaState {
  const [first, ...rest] = compensationsFor(failedStep, includeStep);
  return { ...state, status: 'compensating', step: first!, pendingCompensations: rest, attempts: 0, failure: { step: failedStep, reason }, nextAttemptAt: now };
}

function retry(state: SagaState, policy: SagaPolicy, now: number): SagaState {
  const attempts = state.attempts + 1;
  const delay = backoffCeiling(attempts, { baseMs: policy.retryBaseMs, capMs: policy.retryCapMs });
  return { ...state, attempts, nextAttemptAt: now + delay };
}

/** A saga whose deadline passed before its forward steps finished: compensate now (its current step's outcome is unknown). */
export function expire(state: SagaState, now: number): Decision {
  if (state.status !== 'running' || !state.step || !isForwardStep(state.step) || now < state.deadlineAt) return { state, expired: false };
  return { state: startCompensation(state, state.step, 'deadline-exceeded', true, now), expired: true };
}

function forwardEvent(state: SagaState, step: ForwardStep): SagaEvent {
  switch (step) {
    case 'reserve_stock':
      return { type: 'StockReserved', data: { sagaId: state.sagaId, reservationId: state.reservationId! } };
    case 'authorize_payment':
      return { type: 'PaymentAuthorized', data: { sagaId: state.sagaId, paymentId: state.paymentId!, amountCents: state.amountCents, currency: state.currency } };
    case 'confirm_order':
      return { type: 'OrderConfirmed', data: { sagaId: state.sagaId, ...(state.customerId === undefined ? {} : { customerId: state.customerId }) } };
    case 'capture_payment':
      return { type: 'PaymentCaptured', data: { sagaId: state.sagaId, paymentId: state.paymentId! } };
  }
}

function compensationEvent(state: SagaState, step: CompensationStep): SagaEvent {
  switch (step) {
    case 'void_payment':
      return { type: 'PaymentVoided', data: { sagaId: state.sagaId } };
    case 'release_stock':
      return { type: 'StockReleased', data: { sagaId: state.sagaId } };
    case 'mark_failed':
      return { type: 'CheckoutFailed', data: { sagaId: state.sagaId, step: state.failure?.step ?? 'unknown', reason: state.failure?.reason ?? 'unknown' } };
  }
}

/** Applies the outcome of the current step. */
export function decide(state: SagaState, outcome: StepOutcome, now: number, policy: SagaPolicy): Decision {
  const step = state.step;
  if (!step || isTerminal(state.status)) return { state, expired: false };
  if (isForwardStep(step)) {
    if (outcome.kind === 'ok') {
      const next: SagaState = {
        ...state,
        reservationId: outcome.reservationId ?? state.reservationId,
        paymentId: outcome.paymentId ?? state.paymentId,
        attempts: 0,
        nextAttemptAt: now,
      };
      const index = FORWARD_STEPS.indexOf(step);
      const following = FORWARD_STEPS[index + 1];
      const event = forwardEvent(next, step);
      return following ? { state: { ...next, step: following }, event, expired: false } : { state: { ...next, status: 'completed', step: null }, event, expired: false };
    }
    if (outcome.kind === 'rejected') return { state: startCompensation(state, step, outcome.reason, false, now), expired: false };
    if (now >= state.deadlineAt) return { state: startCompensation(state, step, `deadline-exceeded: ${outcome.reason}`, true, now), expired: true };
    return { state: retry(state, policy, now), expired: false };
  }
  // Compensations must finish: anything but ok is retried with capped backoff (and shows in the metrics and logs).
  if (outcome.kind !== 'ok') return { state: retry(state, policy, now), expired: false };
  const [following, ...rest] = state.pendingCompensations;
  const event = compensationEvent(state, step);
  const base = { ...state, attempts: 0, nextAttemptAt: now, pendingCompensations: rest };
  return following ? { state: { ...base, step: following }, event, expired: false } : { state: { ...base, status: 'failed', step: null }, event, expired: false };
}
