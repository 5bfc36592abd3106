/** Request and response schemas of the payments API (validation and /openapi.json). */
import { z } from 'zod';
import { CURRENCIES, MAX_PAYMENT_AMOUNT } from '../domain/payment-rules.ts';

const id = z.string().min(1).max(100).regex(/^[A-Za-z0-9_:.-]+$/);

export const PaymentIdParams = z.object({ id: z.uuid() });

export const CreatePaymentBody = z.object({
  orderId: id,
  amount: z.number().int().positive().max(MAX_PAYMENT_AMOUNT).describe(`Integer minor units (cents), at most ${MAX_PAYMENT_AMOUNT} (the PSP's limit).`),
  currency: z.enum(CURRENCIES).describe('ISO 4217 code.'),
});

export const AmountBody = z.object({ amount: z.number().int().positive().max(MAX_PAYMENT_AMOUNT).optional().describe('Minor units; default: the whole authorized (capture) or refundable (refund) amount.') }).default({});
export const EmptyBody = z.object({}).strict().default({});

const Status = z.enum(['pending', 'authorized', 'declined', 'captured', 'partially_refunded', 'refunded', 'voided']);

export const AuthorizedResponse = z.object({ id: z.uuid(), orderId: z.string(), status: z.literal('authorized'), amount: z.number().int(), currency: z.string(), pspIntentId: z.string() });
export const ChangeResponse = z.object({ id: z.uuid(), status: Status, amountCaptured: z.number().int(), amountRefunded: z.number().int() });
export const PaymentResponse = z.object({
  id: z.uuid(),
  orderId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  status: Status,
  pspIntentId: z.string().nullable(),
  pspVersion: z.number().int(),
  amountCaptured: z.number().int(),
  amountRefunded: z.number().int(),
  declineCode: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const PaymentListQuery = z.object({ orderId: id });
export const PaymentListResponse = z.object({ payments: z.array(PaymentResponse) });
export const WebhookResponse = z.object({ received: z.literal(true), outcome: z.enum(['applied', 'stale', 'duplicate', 'unknown_intent']) });
