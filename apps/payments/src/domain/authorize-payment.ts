/**
 * Authorize a payment, exactly once per Idempotency-Key. The pending row is
 * inserted and locked in one transaction that also spans the PSP call: a
 * concurrent request with the same key blocks on the row and then replays
 * the committed outcome; a PSP timeout rolls everything back (nothing
 * recorded) and the retry calls the PSP with the same key, which returns the
 * authorization it already made instead of making a second one.
 */
import { paymentsError } from '../errors.ts';
import type { PspClient } from '../clients/psp.ts';
import { isVoidedOrphan } from '../store/orphans-store.ts';
import { applyIntentSnapshot, insertPendingPayment, lockPaymentByKey, recordTransition, type PaymentRow } from '../store/payments-store.ts';
import { assertPayableAmount, fingerprint, paymentIdForKey, tenantScopedKey } from './payment-rules.ts';
import { inTransaction, type TxSource } from './transaction.ts';

export interface AuthorizeInput {
  key: string;
  /** The request's tenant: scopes the key at the PSP and in the payment id (tenantScopedKey). */
  tenant?: string;
  orderId: string;
  amount: number;
  currency: string;
  simulate?: string;
}

export interface AuthorizedPayment {
  id: string;
  orderId: string;
  status: 'authorized';
  amount: number;
  currency: string;
  pspIntentId: string;
}

export interface AuthorizeResult {
  payment: AuthorizedPayment;
  replayed: boolean;
}

type Attempt = { kind: 'done'; row: PaymentRow; replayed: boolean } | { kind: 'vanished' };

const responseOf = (row: PaymentRow): AuthorizedPayment => ({ id: row.id, orderId: row.orderId, status: 'authorized', amount: row.amount, currency: row.currency, pspIntentId: row.pspIntentId! });

export async function authorizePayment(source: TxSource, psp: PspClient, input: AuthorizeInput): Promise<AuthorizeResult> {
  assertPayableAmount(input.amount);
  const fp = fingerprint('authorize', input.orderId, input.amount, input.currency);
  const scopedKey = tenantScopedKey(input.tenant, input.key);
  const id = paymentIdForKey(scopedKey);
  for (let round = 0; round < 5; round++) {
    const attempt = await inTransaction(source, async (tx): Promise<Attempt> => {
      const inserted = await insertPendingPayment(tx, { id, orderId: input.orderId, amount: input.amount, currency: input.currency, key: input.key, fingerprint: fp });
      const row = inserted ?? (await lockPaymentByKey(tx, input.key)); // not ours: wait for its owner's outcome
      if (!row) return { kind: 'vanished' }; // its owner rolled back between our insert attempt and the lock
      if (row.fingerprint !== fp) throw paymentsError('PAYMENTS_IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different payment request');
      if (row.status !== 'pending') return { kind: 'done', row, replayed: !inserted };
      const result = await psp.call({
        method: 'POST',
        path: '/v1/payment_intents',
        key: scopedKey,
        body: { amount: input.amount, currency: input.currency, metadata: { paymentId: id, orderId: input.orderId } },
        simulate: input.simulate,
      });
      // A decline is an answer too (402 with the declined intent). Any other 4xx says our request is wrong: retrying cannot help (502, not 503).
      if (!result.ok && result.status !== 402) throw paymentsError('PAYMENTS_PSP_REQUEST_REJECTED', `the PSP refused the authorization request (${result.status} ${result.code}): ${result.message}`);
      const intent = result.intent;
      if (!intent) throw paymentsError('PAYMENTS_PSP_UNAVAILABLE', 'the PSP answered the authorization without an intent');
      // A retry long after a rolled-back attempt: the PSP replays the authorization the orphan reconciler has voided since.
      if (intent.status === 'authorized' && (await isVoidedOrphan(tx, intent.id))) {
        throw paymentsError('PAYMENTS_AUTHORIZATION_VOIDED', 'the authorization made for this Idempotency-Key was voided as an orphan; authorize again with a new key', { extensions: { paymentId: id, pspIntentId: intent.id } });
      }
      await applyIntentSnapshot(tx, id, intent);
      await recordTransition(tx, row, intent, intent.lastTransition);
      return { kind: 'done', row: { ...row, status: intent.status, pspIntentId: intent.id, pspVersion: intent.version, declineCode: intent.declineCode }, replayed: false };
    });
    if (attempt.kind === 'vanished') continue;
    const { row, replayed } = attempt;
    if (row.status === 'declined') {
      source.keepWritesOnFailure?.();
      throw paymentsError('PAYMENT_DECLINED', 'the payment was declined by the PSP', {
        extensions: { paymentId: row.id, orderId: row.orderId, declineCode: row.declineCode },
        headers: replayed ? { 'idempotent-replayed': 'true' } : {},
      });
    }
    return { payment: responseOf(row), replayed };
  }
  throw paymentsError('PAYMENTS_PSP_UNAVAILABLE', 'the authorization could not settle; retry with the same Idempotency-Key', { retryAfterSeconds: 1 });
}
