/**
 * Pure rules of the payments service: when an operation is already done,
 * request fingerprints, the payment id derived from the
 * idempotency key, and the currencies it accepts.
 */
import { createHash } from 'node:crypto';
import { paymentsError } from '../errors.ts';
import { MAX_INTENT_AMOUNT } from '../psp/intent.ts';
import type { PaymentStatus } from '../store/payments-store.ts';

export type Operation = 'capture' | 'void' | 'refund';

/**
 * True when a whole-amount operation's effect is already there: captured
 * (whatever was refunded since), voided, fully refunded. Such a request
 * answers 200 with the state instead of 409, so "void/refund everything of
 * this order" is idempotent by outcome, not only by key.
 */
export function alreadyDone(p: { status: PaymentStatus; amountCaptured: number }, operation: Operation): boolean {
  if (operation === 'capture') return p.amountCaptured > 0;
  if (operation === 'void') return p.status === 'voided';
  return p.status === 'refunded';
}

/** sha256 over the parts, NUL-separated: same request ⇔ same fingerprint. */
export function fingerprint(...parts: unknown[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : JSON.stringify(p ?? null)).update('\0');
  return h.digest('hex');
}

/**
 * The payment id of an idempotency key (a name-based UUID, RFC 9562 v8):
 * every retry of one authorization, even after a rollback, names the same
 * payment, so what the PSP stored on the first attempt still points at it.
 */
/**
 * The key a tenant's request is known by outside its tenant's rows: the payment id is derived from
 * it and the PSP is called with it, so two tenants sending the same Idempotency-Key never meet at
 * the PSP (which would replay one tenant's intent to the other) nor on the payment id. Without a
 * tenant it is the key itself (how payments made before tenants were keyed).
 */
export function tenantScopedKey(tenant: string | undefined, key: string): string {
  if (!tenant) return key;
  return `t1_${createHash('sha256').update(tenant).update('\0').update(key).digest('base64url')}`;
}

export function paymentIdForKey(key: string): string {
  const b = createHash('sha256').update('bulwark-payments:').update(key).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** ISO 4217 codes this service accepts (minor units: 2 except where noted; JPY and KRW have 0). */
export const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'CAD', 'AUD', 'NZD', 'JPY', 'KRW', 'SGD', 'HKD'] as const;

/**
 * Largest amount (integer minor units) of a payment, capture or refund: the
 * PSP's own limit, one constant from the HTTP schema to the PSP.
 */
export const MAX_PAYMENT_AMOUNT = MAX_INTENT_AMOUNT;

/** Refuses (400 PAYMENTS_AMOUNT_INVALID) an amount the PSP would refuse: the backstop behind the HTTP schema. */
export function assertPayableAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0 || amount > MAX_PAYMENT_AMOUNT) {
    throw paymentsError('PAYMENTS_AMOUNT_INVALID', `amount must be an integer from 1 to ${MAX_PAYMENT_AMOUNT} minor units`, { extensions: { amount, max: MAX_PAYMENT_AMOUNT } });
  }
}
