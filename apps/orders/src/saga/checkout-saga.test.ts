import { describe, expect, it } from '@jest/globals';
import { compensationsFor, decide, expire, idempotencyKey, newSaga, type SagaState, type StepOutcome } from './checkout-saga.ts';

const policy = { retryBaseMs: 100, retryCapMs: 1_000 };
const start = (): SagaState => newSaga({ sagaId: 's1', orderId: 'o1', amountCents: 500, currency: 'EUR', items: [{ sku: 'a', quantity: 1 }], now: 0, deadlineMs: 10_000 });
const ok: StepOutcome = { kind: 'ok' };

function run(state: SagaState, outcomes: StepOutcome[], now = 1): { state: SagaState; events: string[] } {
  const events: string[] = [];
  for (const outcome of outcomes) {
    const d = decide(state, outcome, now, policy);
    state = d.state;
    if (d.event) events.push(d.event.type);
  }
  return { state, events };
}

describe('checkout saga state machine', () => {
  it('when every step succeeds, then it runs reserve → authorize → confirm → capture and completes', () => {
    const { state, events } = run(start(), [{ kind: 'ok', reservationId: 'r1' }, { kind: 'ok', paymentId: 'p1' }, ok, ok]);
    expect(state).toMatchObject({ status: 'completed', step: null, reservationId: 'r1', paymentId: 'p1', failure: null });
    expect(events).toEqual(['StockReserved', 'PaymentAuthorized', 'OrderConfirmed', 'PaymentCaptured']);
  });

  it("when the order is confirmed, then OrderConfirmed names the order's customer (notifications mails it), and a saga started before customers were kept confirms without one", () => {
    const withCustomer = newSaga({ sagaId: 's1', orderId: 'o1', customerId: 'c-1', amountCents: 500, currency: 'EUR', items: [{ sku: 'a', quantity: 1 }], now: 0, deadlineMs: 10_000 });
    const confirm = (s: SagaState) => decide(decide(decide(s, { kind: 'ok', reservationId: 'r1' }, 1, policy).state, { kind: 'ok', paymentId: 'p1' }, 1, policy).state, ok, 1, policy).event;
    expect(confirm(withCustomer)).toEqual({ type: 'OrderConfirmed', data: { sagaId: 's1', customerId: 'c-1' } });
    expect(confirm(start())).toEqual({ type: 'OrderConfirmed', data: { sagaId: 's1' } });
  });

  it('when stock is insufficient, then nothing is compensated but the order is marked failed', () => {
    const d = decide(start(), { kind: 'rejected', reason: 'insufficient-stock' }, 1, policy);
    expect(d.state).toMatchObject({ status: 'compensating', step: 'mark_failed', pendingCompensations: [], failure: { step: 'reserve_stock', reason: 'insufficient-stock' } });
    const { state, events } = run(d.state, [ok]);
    expect(state.status).toBe('failed');
    expect(events).toEqual(['CheckoutFailed']);
  });

  it('when the payment is declined, then the stock is released and the order failed, and no payment is voided', () => {
    const { state, events } = run(start(), [{ kind: 'ok', reservationId: 'r1' }, { kind: 'rejected', reason: 'payment-declined' }, ok, ok]);
    expect(state).toMatchObject({ status: 'failed', step: null, failure: { step: 'authorize_payment', reason: 'payment-declined' } });
    expect(events).toEqual(['StockReserved', 'StockReleased', 'CheckoutFailed']);
  });

  it('when the capture is refused, then the payment is voided, the stock released and the order failed', () => {
    const { state, events } = run(start(), [{ kind: 'ok', reservationId: 'r1' }, { kind: 'ok', paymentId: 'p1' }, ok, { kind: 'rejected', reason: 'capture-refused' }, ok, ok, ok]);
    expect(state.status).toBe('failed');
    expect(events).toEqual(['StockReserved', 'PaymentAuthorized', 'OrderConfirmed', 'PaymentVoided', 'StockReleased', 'CheckoutFailed']);
  });

  it('when a step fails transiently before the deadline, then the same step is retried with growing, capped backoff', () => {
    let s = start();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const d = decide(s, { kind: 'transient', reason: 'timeout' }, 1_000, policy);
      expect(d.expired).toBe(false);
      expect(d.state.step).toBe('reserve_stock');
      delays.push(d.state.nextAttemptAt - 1_000);
      s = d.state;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('when a step still fails transiently past the deadline, then the saga compensates including that step and reports the expiry', () => {
    const reserved = decide(start(), { kind: 'ok', reservationId: 'r1' }, 1, policy).state;
    const d = decide(reserved, { kind: 'transient', reason: 'timeout' }, 10_000, policy);
    expect(d.expired).toBe(true);
    expect(d.state).toMatchObject({ status: 'compensating', step: 'void_payment', pendingCompensations: ['release_stock', 'mark_failed'] });
    expect(d.state.failure?.reason).toMatch(/^deadline-exceeded/);
  });

  it('when a claimed saga is already past its deadline, then expire() starts compensation; a compensating saga is left alone', () => {
    expect(expire(start(), 9_999)).toMatchObject({ expired: false, state: { status: 'running', step: 'reserve_stock' } });
    const d = expire(start(), 20_000);
    expect(d.expired).toBe(true);
    expect(d.state).toMatchObject({ status: 'compensating', step: 'release_stock', pendingCompensations: ['mark_failed'] });
    expect(expire(d.state, 30_000)).toMatchObject({ expired: false, state: d.state });
  });

  it('when a compensation fails, then it is retried, never skipped', () => {
    const declined = run(start(), [{ kind: 'ok', reservationId: 'r1' }, { kind: 'rejected', reason: 'payment-declined' }]).state;
    const d = decide(declined, { kind: 'rejected', reason: 'conflict' }, 5, policy);
    expect(d.state).toMatchObject({ status: 'compensating', step: 'release_stock', attempts: 1 });
    expect(d.event).toBeUndefined();
  });

  it('when the saga is terminal, then outcomes change nothing', () => {
    const done = run(start(), [{ kind: 'ok', reservationId: 'r1' }, { kind: 'ok', paymentId: 'p1' }, ok, ok]).state;
    expect(decide(done, { kind: 'rejected', reason: 'x' }, 5, policy)).toEqual({ state: done, expired: false });
  });

  it('derives idempotency keys from saga id and step; compensations from the step they undo', () => {
    expect(idempotencyKey('s', 'reserve_stock')).toBe('s:reserve_stock');
    expect(idempotencyKey('s', 'capture_payment')).toBe('s:capture_payment');
    expect(idempotencyKey('s', 'release_stock')).toBe('s:reserve_stock:compensate');
    expect(idempotencyKey('s', 'void_payment')).toBe('s:authorize_payment:compensate');
  });

  it('owes compensations only for steps that may have taken effect', () => {
    expect(compensationsFor('reserve_stock', false)).toEqual(['mark_failed']);
    expect(compensationsFor('reserve_stock', true)).toEqual(['release_stock', 'mark_failed']);
    expect(compensationsFor('authorize_payment', false)).toEqual(['release_stock', 'mark_failed']);
    expect(compensationsFor('authorize_payment', true)).toEqual(['void_payment', 'release_stock', 'mark_failed']);
    expect(compensationsFor('capture_payment', false)).toEqual(['void_payment', 'release_stock', 'mark_failed']);
  });
});
