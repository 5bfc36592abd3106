/** Event definitions shared by the tests. */
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventData } from '../src/index.ts';

export const OrderPlaced = defineEvent({
  type: 'com.bulwark.test.order-placed',
  version: 1,
  schema: z.object({ orderId: z.string(), seq: z.number().int() }),
});

export const PaymentCapturedV1 = defineEvent({
  type: 'com.bulwark.test.payment-captured',
  version: 1,
  schema: z.object({ paymentId: z.string(), amount: z.number() }),
});

export const PaymentCapturedV2 = defineEvent({
  type: 'com.bulwark.test.payment-captured',
  version: 2,
  schema: z.object({ paymentId: z.string(), amountCents: z.number().int(), currency: z.string().length(3) }),
  upcast: (previous) => {
    const v1 = previous as EventData<typeof PaymentCapturedV1>;
    return { paymentId: v1.paymentId, amountCents: Math.round(v1.amount * 100), currency: 'EUR' };
  },
});

export const schemas = createEventRegistry([OrderPlaced, PaymentCapturedV1, PaymentCapturedV2]);
