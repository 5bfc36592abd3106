import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { CreatePaymentBody } from '../../payments/src/http/schemas.ts';
import { evolve, MAX_LINE_QUANTITY, MAX_LINES, MAX_ORDER_TOTAL_CENTS, MAX_UNIT_PRICE_CENTS, totalOf, type OrderState } from '../src/domain/order.ts';
import { AddItemBody } from '../src/http/schemas.ts';

/** The `maximum` a field's JSON schema publishes (what /openapi.json tells clients). */
const maximumOf = (schema: z.ZodType): number | undefined => (z.toJSONSchema(schema) as { maximum?: number }).maximum;

describe('money bounds', () => {
  it('when every line is at its limits, then the largest possible order total is still a safe integer', () => {
    expect(MAX_LINES * MAX_LINE_QUANTITY * MAX_UNIT_PRICE_CENTS).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
    expect(maximumOf(AddItemBody.shape.quantity)).toBe(MAX_LINE_QUANTITY);
    expect(maximumOf(AddItemBody.shape.unitPriceCents)).toBe(MAX_UNIT_PRICE_CENTS);
  });

  it('when an order reaches its largest total, then payments accepts that amount in one payment', () => {
    const paymentsMax = maximumOf(CreatePaymentBody.shape.amount);
    expect(paymentsMax).toBeDefined();
    expect(MAX_ORDER_TOTAL_CENTS).toBeLessThanOrEqual(paymentsMax!);
  });

  it('when a total would not be a safe integer, then totalOf and evolve refuse it with ORDERS_RULE_VIOLATED instead of rounding', () => {
    expect(() => totalOf([{ sku: 'A', quantity: 1000, unitPriceCents: Number.MAX_SAFE_INTEGER }])).toThrow(expect.objectContaining({ code: 'ORDERS_RULE_VIOLATED' }));
    const draft: OrderState = { orderId: 'o', customerId: 'c', status: 'draft', items: [], address: null, totalCents: 0 };
    expect(() => evolve(draft, 'o', { type: 'ItemAdded', data: { sku: 'A', quantity: 2, unitPriceCents: Number.MAX_SAFE_INTEGER } })).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ rule: 'max-total' }) }));
  });
});
