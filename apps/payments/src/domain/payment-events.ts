/**
 * The payment events published to Kafka (`com.bulwark.payments.payment-<kind>`
 * v1): one per PSP transition of a payment. `version` is the PSP intent
 * version of the transition; consumers order one payment's events by it
 * (the outbox is in recording order, which a late webhook can make differ).
 */
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';
import type { TransitionKind } from '../psp/intent.ts';

export const PaymentEventData = z.object({
  paymentId: z.string(),
  orderId: z.string(),
  pspIntentId: z.string(),
  /** Money moved by this transition (the authorized amount for authorized/declined, 0 for voided). */
  amount: z.number().int(),
  currency: z.string().length(3),
  version: z.number().int().positive(),
  declineCode: z.string().nullable(),
});
export type PaymentEventData = z.output<typeof PaymentEventData>;

const define = (kind: TransitionKind) => defineEvent({ type: `com.bulwark.payments.payment-${kind}`, version: 1, schema: PaymentEventData });

export const PAYMENT_EVENTS: Record<TransitionKind, EventDefinition<string, PaymentEventData>> = {
  authorized: define('authorized'),
  declined: define('declined'),
  captured: define('captured'),
  voided: define('voided'),
  refunded: define('refunded'),
};

export const paymentEventSchemas = createEventRegistry(Object.values(PAYMENT_EVENTS));
