import { describe, expect, it } from '@jest/globals';
import { MAX_INTENT_AMOUNT } from '../psp/intent.ts';
import { alreadyDone, assertPayableAmount, fingerprint, MAX_PAYMENT_AMOUNT, paymentIdForKey } from './payment-rules.ts';

describe('payment rules', () => {
  it('treats a whole capture, void or refund as done once its effect is there, and nothing else', () => {
    expect(alreadyDone({ status: 'captured', amountCaptured: 100 }, 'capture')).toBe(true);
    expect(alreadyDone({ status: 'refunded', amountCaptured: 100 }, 'capture')).toBe(true);
    expect(alreadyDone({ status: 'authorized', amountCaptured: 0 }, 'capture')).toBe(false);
    expect(alreadyDone({ status: 'voided', amountCaptured: 0 }, 'capture')).toBe(false);
    expect(alreadyDone({ status: 'voided', amountCaptured: 0 }, 'void')).toBe(true);
    expect(alreadyDone({ status: 'captured', amountCaptured: 100 }, 'void')).toBe(false);
    expect(alreadyDone({ status: 'refunded', amountCaptured: 100 }, 'refund')).toBe(true);
    expect(alreadyDone({ status: 'partially_refunded', amountCaptured: 100 }, 'refund')).toBe(false);
  });

  it('derives one stable UUID per key', () => {
    const a = paymentIdForKey('saga-1:authorize');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(paymentIdForKey('saga-1:authorize')).toBe(a);
    expect(paymentIdForKey('saga-2:authorize')).not.toBe(a);
  });

  it('fingerprints differ when any part differs and do not collide across part boundaries', () => {
    expect(fingerprint('authorize', 'o1', 100, 'EUR')).toBe(fingerprint('authorize', 'o1', 100, 'EUR'));
    expect(fingerprint('authorize', 'o1', 100, 'EUR')).not.toBe(fingerprint('authorize', 'o1', 101, 'EUR'));
    expect(fingerprint('ab', 'c')).not.toBe(fingerprint('a', 'bc'));
  });

  it('accepts amounts from 1 to the PSP limit and refuses the rest with PAYMENTS_AMOUNT_INVALID (400)', () => {
    expect(MAX_PAYMENT_AMOUNT).toBe(MAX_INTENT_AMOUNT);
    expect(() => assertPayableAmount(1)).not.toThrow();
    expect(() => assertPayableAmount(MAX_PAYMENT_AMOUNT)).not.toThrow();
    for (const bad of [0, -1, 1.5, MAX_PAYMENT_AMOUNT + 1, Number.NaN]) {
      expect(() => assertPayableAmount(bad)).toThrow(expect.objectContaining({ code: 'PAYMENTS_AMOUNT_INVALID', status: 400 }));
    }
  });
});
