/**
 * The domain events notifications consumes, as this consumer's contract:
 * the producers' types and versions (apps/orders `com.bulwark.orders.*`,
 * apps/payments `com.bulwark.payments.*`), with only the fields read here
 * required and the rest passed through, so a producer adding a field does
 * not break this consumer. Each event becomes one outgoing event fanned out
 * to the EVENTS_TENANT's endpoints, in the consumer's transaction together
 * with the processed-event mark: exactly one set of deliveries per event.
 * An order-confirmed event also queues the customer's confirmation mail.
 */
import { z } from 'zod';
import { createEventRegistry, defineEvent, handle, type CloudEvent, type EventHandler, type HandlerContext, type PrepareContext } from '@bulwark/events';
import { publishEvent } from './publish-event.ts';

export const ORDER_CONFIRMED = defineEvent({
  type: 'com.bulwark.orders.order-confirmed',
  version: 1,
  // customerId: the identity account to mail (absent in events from before orders carried it).
  schema: z.looseObject({ orderId: z.string(), version: z.number().int(), sagaId: z.string(), customerId: z.string().optional() }),
});

export const PAYMENT_DECLINED = defineEvent({
  type: 'com.bulwark.payments.payment-declined',
  version: 1,
  schema: z.looseObject({ paymentId: z.string(), orderId: z.string(), amount: z.number().int(), currency: z.string(), declineCode: z.string().nullable() }),
});

export const domainEventSchemas = createEventRegistry([ORDER_CONFIRMED, PAYMENT_DECLINED]);

type OrderConfirmedEvent = CloudEvent<z.output<typeof ORDER_CONFIRMED.schema>>;

/** A step of the order-confirmed handler in two halves: before the consumer's transaction, and in it. */
export interface ConfirmationMailStep<P> {
  prepare(event: OrderConfirmedEvent, ctx: PrepareContext): Promise<P>;
  queue(event: OrderConfirmedEvent, ctx: HandlerContext, prepared: P): Promise<void>;
}

/** Outgoing event types (what endpoints filter on). */
export const NOTIFICATION_TYPES = { orderConfirmed: 'order.confirmed', paymentFailed: 'payment.failed' } as const;

export function domainEventHandlers(deps: {
  tenantId: string;
  maxPayloadBytes: number;
  onFanOut: (type: string, deliveries: number) => void;
  /**
   * The customer's order confirmation mail (order-confirmation-mail.ts); off when unset. `prepare` runs
   * before the transaction (the lookup at identity), `queue` in it with what `prepare` returned.
   */
  confirmationMail?: ConfirmationMailStep<unknown>;
}): EventHandler[] {
  const fanOut = async (event: CloudEvent, ctx: HandlerContext, type: string, data: Record<string, unknown>): Promise<void> => {
    // The CloudEvent id is the outgoing event id: a redelivered Kafka record maps to the same deliveries.
    const created = await publishEvent(ctx.db, deps.tenantId, { id: event.id, type, occurredAt: event.time, data }, deps.maxPayloadBytes);
    deps.onFanOut(event.type, created.length);
  };
  return [
    handle<z.output<typeof ORDER_CONFIRMED.schema>, unknown>(
      ORDER_CONFIRMED,
      async (event, ctx) => {
        if (deps.confirmationMail) await deps.confirmationMail.queue(event, ctx, ctx.prepared);
        await fanOut(event, ctx, NOTIFICATION_TYPES.orderConfirmed, { orderId: event.data.orderId });
      },
      { prepare: async (event, ctx) => deps.confirmationMail?.prepare(event, ctx) },
    ),
    handle(PAYMENT_DECLINED, (event, ctx) =>
      fanOut(event, ctx, NOTIFICATION_TYPES.paymentFailed, {
        orderId: event.data.orderId,
        paymentId: event.data.paymentId,
        amount: event.data.amount,
        currency: event.data.currency,
        declineCode: event.data.declineCode,
      }),
    ),
  ];
}
