/** Request and response schemas of the HTTP API (validation and /openapi.json). */
import { z } from 'zod';

const Sku = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/).describe('Stock-keeping unit id.');
const Quantity = z.number().int().positive().max(1_000_000);

export const SkuParams = z.object({ sku: Sku });
export const ReservationIdParams = z.object({ id: z.uuid() });
export const SetStockBody = z.object({ onHand: z.number().int().min(0).max(1_000_000_000) });
export const StockResponse = z.object({ sku: z.string(), onHand: z.number().int(), reserved: z.number().int(), available: z.number().int() });

const ReservationItem = z.object({ sku: Sku, quantity: Quantity });

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
