/** Request and response schemas of the cart API (validation and /openapi.json). */
import { z } from 'zod';
import { MAX_LINE_QUANTITY } from '../domain/cart-pricing.ts';

const Tenant = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/);
const Sku = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/);
const Money = z.object({ amount: z.number().int().describe('Minor units (cents).'), currency: z.string() });

export const CartIdParams = z.object({ id: z.uuid() });
export const CartLineParams = CartIdParams.extend({ sku: Sku });

export const OpenCartBody = z
  .object({ tenant: Tenant.optional().describe("A guest's storefront organisation (identity's tenant id); a verified user's tenant comes from the token.") })
  .default({});
export const SetLineBody = z.object({ quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY).describe('Units of the variant wanted (replaces the line\'s quantity); DELETE removes the line.') });
export const MergeBody = z.object({ guestToken: z.string().min(3).max(300).describe('The `guestToken` POST /v1/carts gave the guest.') });
export const CheckoutBody = z.object({
  address: z.object({ line1: z.string().min(1).max(200), city: z.string().min(1).max(100), postalCode: z.string().min(1).max(20), country: z.string().length(2) }),
});

export const CartResponse = z.object({
  id: z.uuid(),
  ownerSub: z.string().nullable().describe('The user the cart belongs to; null for a guest cart.'),
  status: z.enum(['open', 'merged', 'checked_out']),
  revision: z.number().int().describe('Counts every write to the cart; the order a checkout makes is `cart-<id>-r<revision>`.'),
  mergedInto: z.string().nullable(),
  orderId: z.string().nullable(),
  pendingOrder: z.string().nullable().describe('Set while a checkout that reached orders has not finished: the cart takes no edits; checking out again finishes that order.'),
  expiresAt: z.string().describe('Every write pushes this out by CART_TTL_SECONDS.'),
  expired: z.boolean(),
  items: z.array(z.object({ sku: z.string(), productId: z.string(), name: z.string(), quantity: z.number().int(), unitPrice: Money.describe('Snapshotted when the line was last set.') })),
  totalMinor: z.number().int(),
  guestToken: z.string().optional().describe('Only when a guest cart is created: send it as `cart-token` on every call to this cart, and in POST /v1/carts/:id/merge after logging in.'),
});

export const CheckoutResponse = z.object({
  cartId: z.uuid(),
  orderId: z.string(),
  totalMinor: z.number().int(),
  currency: z.string(),
  saga: z.object({ sagaId: z.string(), status: z.string() }).describe("The order's checkout saga (GET /v1/orders/:id/checkout follows it)."),
});
