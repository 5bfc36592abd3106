/**
 * The order's domain events: their names in the event store, the zod schema
 * of each payload, and the CloudEvents definitions the CDC relay publishes to
 * Kafka (`com.bulwark.orders.<kebab-name>` v1, data = payload + orderId +
 * version + tenantId).
 */
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';
import { ordersError } from '../errors.ts';

export const Address = z.object({
  line1: z.string().min(1).max(200),
  city: z.string().min(1).max(100),
  postalCode: z.string().min(1).max(20),
  country: z.string().length(2),
});
export type Address = z.infer<typeof Address>;

export const OrderItem = z.object({
  sku: z.string().min(1).max(64),
  quantity: z.number().int().positive().max(1000),
  unitPriceCents: z.number().int().nonnegative(),
});
export type OrderItem = z.infer<typeof OrderItem>;

export const EVENT_PAYLOADS = {
  OrderCreated: z.object({ customerId: z.string() }),
  ItemAdded: OrderItem,
  ItemRemoved: z.object({ sku: z.string() }),
  AddressSet: z.object({ address: Address }),
  OrderPlaced: z.object({ totalCents: z.number().int() }),
  OrderCancelled: z.object({ reason: z.string() }),
  OrderShipped: z.object({ carrier: z.string() }),
  // Checkout saga milestones (src/saga/): appended in the same transaction as the saga's state.
  StockReserved: z.object({ sagaId: z.string(), reservationId: z.string() }),
  PaymentAuthorized: z.object({ sagaId: z.string(), paymentId: z.string(), amountCents: z.number().int(), currency: z.string() }),
  // customerId (the identity account) for notifications' confirmation mail; absent in events from before it was added.
  OrderConfirmed: z.object({ sagaId: z.string(), customerId: z.string().optional() }),
  PaymentCaptured: z.object({ sagaId: z.string(), paymentId: z.string() }),
  PaymentVoided: z.object({ sagaId: z.string() }),
  StockReleased: z.object({ sagaId: z.string() }),
  CheckoutFailed: z.object({ sagaId: z.string(), step: z.string(), reason: z.string() }),
} as const;

export type OrderEventType = keyof typeof EVENT_PAYLOADS;
export type OrderEvent = { [K in OrderEventType]: { type: K; data: z.infer<(typeof EVENT_PAYLOADS)[K]> } }[OrderEventType];

export const ORDER_EVENT_TYPES = Object.keys(EVENT_PAYLOADS) as OrderEventType[];

export function isOrderEventType(type: string): type is OrderEventType {
  return Object.hasOwn(EVENT_PAYLOADS, type);
}

/** A stored event as an OrderEvent; ORDERS_EVENT_UNPROCESSABLE when its type is unknown or its data does not match the type's schema. */
export function parseOrderEvent(type: string, data: unknown): OrderEvent {
  if (!isOrderEventType(type)) throw ordersError('ORDERS_EVENT_UNPROCESSABLE', `unknown event type ${type}`, { type });
  const parsed = EVENT_PAYLOADS[type].safeParse(data);
  if (!parsed.success) throw ordersError('ORDERS_EVENT_UNPROCESSABLE', `${type} data does not match its schema: ${z.prettifyError(parsed.error)}`, { type });
  return { type, data: parsed.data } as OrderEvent;
}

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? '' : '-') + c.toLowerCase());

/** CloudEvents type of a stored event type, e.g. ItemAdded → com.bulwark.orders.item-added. */
export function cloudEventType(type: OrderEventType): string {
  return `com.bulwark.orders.${kebab(type)}`;
}

// tenantId: the order's tenant (absent for rows from before tenants), so a consumer such as catalog acts per tenant.
const envelopeFields = z.object({ orderId: z.string(), version: z.number().int().positive(), tenantId: z.string().optional() });

/** Kafka definitions, one per stored type; the relay publishes with these. */
export const KAFKA_EVENTS = Object.fromEntries(
  ORDER_EVENT_TYPES.map((type) => [type, defineEvent({ type: cloudEventType(type), version: 1, schema: envelopeFields.extend(EVENT_PAYLOADS[type].shape) })]),
) as unknown as Record<OrderEventType, EventDefinition<string, Record<string, unknown>>>;

export const orderEventSchemas = createEventRegistry(Object.values(KAFKA_EVENTS));
