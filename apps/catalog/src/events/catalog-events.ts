/**
 * Catalog's own events (`com.bulwark.catalog.<kind>` v1), keyed by the
 * product id (a category's: `category:<slug>`). They are written to `catalog_events_outbox` in the transaction
 * of the change (`recordCatalogEvent`), so an event exists if and only if its
 * change committed; the outbox relay publishes them to CATALOG_TOPIC.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEventRegistry, defineEvent, type EventDefinition } from '@bulwark/events';
import type { Queryable } from '@bulwark/db';

const ReviewSaved = z.object({
  productId: z.string(),
  authorSub: z.string(),
  rating: z.number().int().min(1).max(5),
  /** The author's rating before this change; null for a first review. */
  previousRating: z.number().int().min(1).max(5).nullable(),
  ratingCount: z.number().int().nonnegative(),
  ratingAverage: z.number().nullable(),
});
const ReviewDeleted = ReviewSaved.omit({ rating: true });
const WishlistChanged = z.object({ productId: z.string(), ownerSub: z.string() });
const Change = z.enum(['created', 'updated', 'deleted']);
const ProductChanged = z.object({ productId: z.string(), change: Change, slug: z.string().nullable() });
const CategoryChanged = z.object({ slug: z.string(), change: Change });

export const CATALOG_EVENT_SCHEMAS = {
  'review-saved': ReviewSaved,
  'review-deleted': ReviewDeleted,
  'wishlist-item-added': WishlistChanged,
  'wishlist-item-removed': WishlistChanged,
  'product-changed': ProductChanged,
  'category-changed': CategoryChanged,
} as const;

export type CatalogEventKind = keyof typeof CATALOG_EVENT_SCHEMAS;
export type CatalogEventData<K extends CatalogEventKind> = z.input<(typeof CATALOG_EVENT_SCHEMAS)[K]>;

export const CATALOG_EVENTS = Object.fromEntries(
  Object.entries(CATALOG_EVENT_SCHEMAS).map(([kind, schema]) => [kind, defineEvent({ type: `com.bulwark.catalog.${kind}`, version: 1, schema })]),
) as unknown as Record<CatalogEventKind, EventDefinition<string, Record<string, unknown>>>;

export const catalogEventSchemas = createEventRegistry(Object.values(CATALOG_EVENTS));

/** Appends one event to the outbox inside the caller's transaction, filed under the transaction's tenant. */
export async function recordCatalogEvent<K extends CatalogEventKind>(tx: Queryable, kind: K, aggregateId: string, data: CatalogEventData<K>): Promise<void> {
  await tx.query({
    name: 'catalog.record_event',
    text: 'INSERT INTO catalog_events_outbox (event_id, aggregate_id, type, data) VALUES ($1, $2, $3, $4)',
    values: [randomUUID(), aggregateId, kind, JSON.stringify(data)],
  });
}
