/**
 * A verified PSP webhook, applied at most once per event id and only ever
 * forward: the event is recorded (a duplicate stops here), its transition is
 * recorded (ledger rows and outbox event, keyed by intent version, so the API
 * path and the webhook never both post), and the snapshot moves the payment
 * only when its version is newer (an out-of-order event cannot regress it).
 */
import { z } from 'zod';
import { withSystemContext, withTenant } from '@bulwark/db';
import { applyIntentSnapshot, lockPayment, markWebhookApplied, recordTransition, recordWebhookEvent, tenantOfIntent } from '../store/payments-store.ts';
import type { PaymentIntent } from '../psp/intent.ts';
import { inTransaction, type TxSource } from './transaction.ts';

/** Intent versions are stored as PostgreSQL `integer`; a larger one is a malformed event (400), not a 500. */
const IntentVersion = z.number().int().positive().max(2_147_483_647);
const Transition = z.object({ kind: z.enum(['authorized', 'declined', 'captured', 'voided', 'refunded']), amount: z.number().int().min(0), version: IntentVersion });

export const PspEvent = z.object({
  id: z.string().min(1).max(200),
  type: z.string().startsWith('payment_intent.'),
  created: z.number().int(),
  data: z.object({
    object: z.object({
      id: z.string().min(1),
      amount: z.number().int(),
      currency: z.string(),
      status: z.enum(['authorized', 'declined', 'captured', 'partially_refunded', 'refunded', 'voided']),
      amountCaptured: z.number().int(),
      amountRefunded: z.number().int(),
      version: IntentVersion,
      declineCode: z.string().nullable(),
      // paymentId is looked up as a uuid column: anything else would fail in PostgreSQL.
      metadata: z.object({ paymentId: z.uuid().optional() }).catchall(z.string()),
      lastTransition: Transition,
    }),
    transition: Transition,
  }),
});
export type PspEvent = z.output<typeof PspEvent>;

export type EventOutcome = 'applied' | 'stale' | 'duplicate' | 'unknown_intent';

/**
 * Applies a PSP webhook as the tenant of the payment it is about: the PSP
 * names no tenant, so the payment's is looked up in the system context
 * (audited) and the event is then applied scoped to it, its ledger rows and
 * outbox event filed under that tenant as the API's would be. An intent no
 * payment owns is applied in the system context, where it finds none.
 */
export async function applyPspEventAsOwner(source: { pool: TxSource['pool'] }, event: PspEvent): Promise<EventOutcome> {
  const { object } = event.data;
  const tenant = await withSystemContext(source.pool, 'payments.psp-webhook', () => tenantOfIntent(source.pool, object.id, object.metadata.paymentId));
  if (tenant === undefined) return withSystemContext(source.pool, 'payments.psp-webhook', () => applyPspEvent(source, event));
  return withTenant(tenant, () => applyPspEvent(source, event));
}

export async function applyPspEvent(source: TxSource, event: PspEvent): Promise<EventOutcome> {
  const intent = event.data.object as PaymentIntent;
  return inTransaction(source, async (tx) => {
    const payment = await lockPayment(tx, { pspIntentId: intent.id, id: intent.metadata.paymentId });
    // No payment names the intent: its authorization is in flight, or rolled back and may never be retried.
    // Acknowledged (the PSP stops retrying) and ignored: nothing is lost, because an authorization that does
    // commit records the PSP's answer (the same version) itself, and every later transition goes through a
    // payment that exists; an intent that stays unowned is the orphan reconciler's (orphan-authorizations.ts).
    if (!payment || payment.status === 'pending') return 'unknown_intent';
    if (!(await recordWebhookEvent(tx, { id: event.id, paymentId: payment.id, type: event.type, version: event.data.transition.version }))) return 'duplicate';
    await recordTransition(tx, payment, intent, event.data.transition);
    const applied = await applyIntentSnapshot(tx, payment.id, intent);
    if (applied) await markWebhookApplied(tx, event.id);
    return applied ? 'applied' : 'stale';
  });
}
