/** Request and response schemas of the HTTP API (validation and /openapi.json). */
import { z } from 'zod';

const Sku = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/).describe('Stock-keeping unit id.');
const Quantity = z.number().int().positive().max(1_000_000);

export const SkuParams = z.object({ sku: Sku });
export const ReservationIdParams = z.object({ id: z.uuid() });
export const SetStockBody = z.object({ onHand: z.number().int().min(0).max(1_000_000_000) });
export const StockResponse = z.object({ sku: z.string(), onHand: z.number().int(), reserved: z.number().int(), available: z.number().int() });

const ReservationItem = z.object({ sku: Sku, quantity: Quantity });

export const AdjustmentBody = z.object({
  delta: z.number().int().min(-1_000_000).max(1_000_000).refine((d) => d !== 0, { message: 'delta must not be 0' }).describe('Units added to (positive) or taken from (negative) the units on hand.'),
  reason: z.enum(['received', 'returned', 'damaged', 'lost', 'stocktake', 'correction']).describe('Why the units changed.'),
  note: z.string().trim().max(500).default('').describe('Free text: a delivery note, a ticket.'),
});
const Adjustment = z.object({
  id: z.string(),
  sku: z.string(),
  delta: z.number().int(),
  reason: z.string(),
  note: z.string(),
  actor: z.string().describe('The verified subject who made it.'),
  tenant: z.string().nullable().describe("The actor's tenant."),
  onHandAfter: z.number().int(),
  createdAt: z.string(),
});
export const AdjustmentListQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });
export const AdjustmentListResponse = z.object({ items: z.array(Adjustment) });
export const AdjustmentResponse = z.object({ adjustment: Adjustment, stock: StockResponse });

export const ReserveBody = z.object({
  orderId: z.string().min(1).max(64).regex(/^[A-Za-z0-9_:-]+$/),
  items: z
    .array(ReservationItem)
    .min(1)
    .max(100)
    .refine((items) => new Set(items.map((i) => i.sku)).size === items.length, { message: 'each sku may appear once' }),
  ttlSeconds: z.number().int().min(1).max(86_400).optional().describe('Hold time; default RESERVATION_TTL_SECONDS.'),
});

const Status = z.enum(['held', 'confirmed', 'released']);

export const ReservationResponse = z.object({
  id: z.uuid(),
  orderId: z.string(),
  status: Status,
  releasedReason: z.enum(['requested', 'expired']).nullable(),
  expiresAt: z.string(),
  createdAt: z.string(),
  items: z.array(ReservationItem),
});

export const TransitionResponse = z.object({ id: z.uuid(), status: Status });
export const ReservationListQuery = z.object({ orderId: z.string().min(1).max(64) });
export const ReservationListResponse = z.object({ reservations: z.array(ReservationResponse) });
