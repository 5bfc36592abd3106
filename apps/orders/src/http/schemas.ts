/** Request and response schemas of the HTTP API (validation and /openapi.json). */
import { z } from 'zod';
import { Address, OrderItem } from '../domain/events.ts';
import { MAX_LINE_QUANTITY, MAX_ORDER_TOTAL_CENTS, MAX_UNIT_PRICE_CENTS } from '../domain/order.ts';

export const OrderIdParams = z.object({ id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/) });
// A stream version is a PostgreSQL integer.
const expectedVersion = z.number().int().min(0).max(2_147_483_647).optional().describe('Stream version the command is based on (or send If-Match).');

export const CreateOrderBody = z.object({ orderId: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/).optional(), customerId: z.string().min(1).max(64) });
// Tighter than the ItemAdded event schema (a published contract that old events must keep passing):
// with these limits and MAX_LINES no order total can leave the safe integers (src/domain/order.ts).
export const AddItemBody = z.object({
  sku: OrderItem.shape.sku,
  quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY).describe(`Units to add; a line holds at most ${MAX_LINE_QUANTITY}.`),
  unitPriceCents: z.number().int().min(0).max(MAX_UNIT_PRICE_CENTS).describe(`Integer cents; the order total may not pass ${MAX_ORDER_TOTAL_CENTS} (422 rule max-total).`),
  expectedVersion,
});
export const SetAddressBody = z.object({ address: Address, expectedVersion });
export const VersionedBody = z.object({ expectedVersion }).default({});
export const CancelBody = z.object({ reason: z.string().min(1).max(500), expectedVersion });
export const ShipBody = z.object({ carrier: z.string().min(1).max(100), expectedVersion });

const OrderStatus = z.enum(['draft', 'placed', 'confirmed', 'checkout_failed', 'cancelled', 'shipped']);

export const CommandResponse = z.object({
  order: z.object({ orderId: z.string(), customerId: z.string(), status: OrderStatus, items: z.array(OrderItem), address: Address.nullable(), totalCents: z.number() }),
  version: z.number().int(),
});

export const OrderSummaryResponse = z.object({
  orderId: z.string(),
  customerId: z.string(),
  status: OrderStatus,
  items: z.array(OrderItem),
  address: Address.nullable(),
  totalCents: z.number(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const CustomerOrdersQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().max(200).optional().describe('Cursor from the previous page (nextCursor).'),
});

export const CustomerOrdersResponse = z.object({ orders: z.array(OrderSummaryResponse), nextCursor: z.string().nullable() });
export const StatusCountsResponse = z.object({ counts: z.record(z.string(), z.number()) });
export const ProjectionStatus = z.object({
  name: z.string(),
  position: z.string(),
  lagEvents: z.number(),
  running: z.boolean(),
  parked: z.number().int().describe('Events this projection parked (not in its read model): GET /projections/{name}/parked.'),
  failingSince: z.string().nullable().describe("Since when this process's projector has failed every batch (null: it is not)."),
});
export const ProjectionsResponse = z.object({ projections: z.array(ProjectionStatus) });
export const ParkedEvent = z.object({
  projection: z.string(),
  eventId: z.string(),
  position: z.string().describe('Global log position txid:id.'),
  streamId: z.string(),
  version: z.number().int(),
  type: z.string(),
  errorCode: z.string().nullable(),
  error: z.string(),
  parkedAt: z.string(),
});
export const ParkedEventsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });
export const ParkedEventsResponse = z.object({ projection: z.string(), events: z.array(ParkedEvent) });
export const RebuildResponse = z.object({
  projection: z.string(),
  events: z.number(),
  position: z.string(),
  parked: z.number().int().describe('Events the rebuilt read model does not reflect (parked; the rebuild went on).'),
  parkedEvents: z.array(ParkedEvent).describe('The first 100 of them, in log order.'),
});
// The relay's dead letters are the projections' without a projection or log position, plus when they went out again.
const RelayParkedEvent = ParkedEvent.omit({ projection: true, position: true }).extend({ republishedAt: z.string().nullable() });
export const RelayParkedResponse = z.object({ events: z.array(RelayParkedEvent) });
export const RelayRepublishResponse = z.object({
  republished: z.array(z.string()).describe('Event ids published to the topic now.'),
  failed: z.array(z.object({ eventId: z.string(), error: z.string() })).describe('Still refused (the error is recorded on the parked row).'),
});
export const RelayResponse = z.object({ enabled: z.boolean(), streaming: z.boolean(), slot: z.string(), active: z.boolean().nullable(), lagBytes: z.number().nullable() });

const SagaStepName = z.enum(['reserve_stock', 'authorize_payment', 'confirm_order', 'capture_payment', 'void_payment', 'release_stock', 'mark_failed']);
export const CheckoutResponse = z.object({
  sagaId: z.string(),
  orderId: z.string(),
  status: z.enum(['running', 'compensating', 'completed', 'failed']),
  step: SagaStepName.nullable().describe('The step that runs next (null when finished).'),
  amountCents: z.number().int(),
  currency: z.string(),
  reservationId: z.string().nullable(),
  paymentId: z.string().nullable(),
  failure: z.object({ step: z.string(), reason: z.string() }).nullable(),
  deadlineAt: z.string(),
});
export const CheckoutStatusResponse = CheckoutResponse.extend({
  expired: z.boolean().describe('Compensated because the deadline passed.'),
  steps: z.array(z.object({ step: z.string(), outcome: z.string(), detail: z.string().nullable(), at: z.string() })),
});
