/**
 * Capture, void or refund a payment, exactly once per Idempotency-Key. The
 * payment row is locked (operations on one payment are serial), the
 * operation's key is recorded beside it, the PSP (the authority on what is
 * possible) is called with the same key,
 * and the PSP's answer moves the payment forward and posts the ledger in the
 * same transaction. A 4xx outcome is stored and replayed; a PSP timeout rolls
 * back so the retry with the same key finishes the job without a second
 * capture or refund at the PSP.
 */
import { AppError } from '@bulwark/errors';
import { paymentsError } from '../errors.ts';
import type { PspClient } from '../clients/psp.ts';
import type { PaymentStatus } from '../store/payments-store.ts';
import { applyIntentSnapshot, completeOperation, insertOperation, lockOperation, lockPayment, recordTransition } from '../store/payments-store.ts';
import { alreadyDone, assertPayableAmount, fingerprint, tenantScopedKey, type Operation } from './payment-rules.ts';
import { inTransaction, type TxSource } from './transaction.ts';

export interface ChangeInput {
  key: string;
  /** The request's tenant: scopes the key at the PSP (tenantScopedKey). */
  tenant?: string;
  paymentId: string;
  operation: Operation;
  amount?: number;
  simulate?: string;
}

export interface ChangeResponse {
  id: string;
  status: PaymentStatus;
  amountCaptured: number;
  amountRefunded: number;
}

interface StoredProblem {
  code: string;
  message: string;
  extensions?: Record<string, unknown>;
}

type Outcome = { ok: true; body: ChangeResponse; replayed: boolean } | { ok: false; status: number; problem: StoredProblem; replayed: boolean };

function rebuild(outcome: Extract<Outcome, { ok: false }>): AppError {
  const { code, message, extensions } = outcome.problem;
  return new AppError(code, message, { status: outcome.status, extensions, headers: outcome.replayed ? { 'idempotent-replayed': 'true' } : {} });
}

export async function changePayment(source: TxSource, psp: PspClient, input: ChangeInput): Promise<{ body: ChangeResponse; replayed: boolean }> {
  if (input.amount !== undefined) assertPayableAmount(input.amount);
  const fp = fingerprint(input.operation, input.paymentId, input.amount);
  const outcome = await inTransaction(source, async (tx): Promise<Outcome> => {
    const payment = await lockPayment(tx, { id: input.paymentId });
    if (!payment || payment.status === 'pending') throw paymentsError('PAYMENTS_NOT_FOUND', `no payment ${input.paymentId}`, { extensions: { paymentId: input.paymentId } });
    const inserted = await insertOperation(tx, { key: input.key, paymentId: payment.id, kind: input.operation, fingerprint: fp });
    const op = (await lockOperation(tx, input.key))!;
    if (op.fingerprint !== fp) throw paymentsError('PAYMENTS_IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different payment operation');
    if (!inserted && op.responseStatus !== null) {
      return op.responseStatus === 200
        ? { ok: true, body: op.responseBody as ChangeResponse, replayed: true }
        : { ok: false, status: op.responseStatus, problem: op.responseBody as StoredProblem, replayed: true };
    }
    const fail = async (status: number, problem: StoredProblem): Promise<Outcome> => {
      await completeOperation(tx, input.key, status, problem);
      return { ok: false, status, problem, replayed: false };
    };
    // A whole-amount operation whose effect is already there (a compensation resumed after a crash with a new
    // key, or a webhook that got here first) answers 200 with the state, moving nothing.
    if (input.amount === undefined && alreadyDone(payment, input.operation)) {
      const body: ChangeResponse = { id: payment.id, status: payment.status, amountCaptured: payment.amountCaptured, amountRefunded: payment.amountRefunded };
      await completeOperation(tx, input.key, 200, body);
      return { ok: true, body, replayed: false };
    }
    // No local transition check: after a timed-out attempt the webhook may already have moved the payment,
    // and only the PSP knows whether this key's operation happened (it replays it) or is impossible (409).
    const result = await psp.call({
      method: 'POST',
      path: `/v1/payment_intents/${encodeURIComponent(payment.pspIntentId!)}/${input.operation}`,
      key: tenantScopedKey(input.tenant, input.key),
      body: input.amount === undefined ? {} : { amount: input.amount },
      simulate: input.simulate,
    });
    if (!result.ok) {
      if (result.status === 409) return fail(409, { code: 'PAYMENTS_INVALID_TRANSITION', message: `the PSP refused to ${input.operation}: ${result.message}`, extensions: { paymentId: payment.id } });
      if (result.status === 422 && result.code === 'PSP_SIM_INVALID_AMOUNT') return fail(422, { code: 'PAYMENTS_AMOUNT_TOO_LARGE', message: result.message, extensions: { paymentId: payment.id } });
      throw paymentsError('PAYMENTS_PSP_REQUEST_REJECTED', `the PSP refused the ${input.operation} request (${result.status} ${result.code}): ${result.message}`);
    }
    const intent = result.intent;
    // The PSP answers with the intent after this transition (also on a replay); its version keys the ledger rows and the event.
    await recordTransition(tx, payment, intent, intent.lastTransition);
    await applyIntentSnapshot(tx, payment.id, intent);
    const body: ChangeResponse = { id: payment.id, status: intent.status, amountCaptured: intent.amountCaptured, amountRefunded: intent.amountRefunded };
    await completeOperation(tx, input.key, 200, body);
    return { ok: true, body, replayed: false };
  });
  if (!outcome.ok) {
    source.keepWritesOnFailure?.();
    throw rebuild(outcome);
  }
  return { body: outcome.body, replayed: outcome.replayed };
}
