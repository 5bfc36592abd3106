/** Request and response schemas of reviews, wishlists and the sales summary (validation and /openapi.json). */
import { z } from 'zod';

export const ReviewParams = z.object({ id: z.uuid() });
export const ModerateReviewParams = z.object({ id: z.uuid(), authorSub: z.string().min(1).max(200) });
export const WishlistParams = z.object({ productId: z.uuid() });

export const ReviewBody = z.object({
  rating: z.number().int().min(1).max(5).describe('Stars, 1 to 5.'),
  title: z.string().trim().max(200).default(''),
  body: z.string().trim().max(5_000).default(''),
});

export const ReviewsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(10_000).default(0),
});

const Review = z.object({
  productId: z.string(),
  authorSub: z.string(),
  rating: z.number().int(),
  title: z.string(),
  body: z.string(),
  orderId: z.string().describe('The delivered order that allowed the review.'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const Summary = { ratingCount: z.number().int(), ratingAverage: z.number().nullable().describe('Two decimals; null without reviews.') };

export const ReviewResponse = z.object({ review: Review, ...Summary });
export const RatingSummaryResponse = z.object(Summary);
export const ReviewListResponse = z.object({ ...Summary, items: z.array(Review) });

export const WishlistResponse = z.object({
  items: z.array(z.object({ productId: z.string(), slug: z.string(), name: z.string(), brand: z.string(), priceMin: z.number().int(), addedAt: z.string() })),
});
export const WishlistChangeResponse = z.object({ productId: z.string(), added: z.boolean() });

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/).describe('UTC day, YYYY-MM-DD.');
export const SalesQuery = z
  .object({ from: Day, to: Day.describe('Inclusive.'), top: z.coerce.number().int().min(1).max(50).default(5) })
  .refine((q) => q.from <= q.to, { message: 'from must not be after to' })
  .refine((q) => Date.parse(`${q.to}T00:00:00Z`) - Date.parse(`${q.from}T00:00:00Z`) <= 366 * 86_400_000, { message: 'at most 366 days' });
export const SalesResponse = z.object({
  from: z.string(),
  to: z.string(),
  totals: z.object({ orders: z.number().int(), revenueCents: z.number().int() }),
  days: z.array(
    z.object({
      day: z.string(),
      orders: z.number().int(),
      revenueCents: z.number().int(),
      topProducts: z.array(z.object({ productId: z.string().nullable(), sku: z.string(), name: z.string().nullable(), quantity: z.number().int(), revenueCents: z.number().int() })),
    }),
  ),
});
