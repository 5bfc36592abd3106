/**
 * Reviews and wishlists. A customer reviews a product once (a second PUT
 * replaces the first) and only after one of their orders holding a variant
 * of it was shipped, as learned from orders' events (`order_facts`). The
 * review, the product's rating count and sum, and the catalog event are
 * written in one transaction, with the product row locked so concurrent
 * reviews of a product add up.
 */
import { withTransaction, type DbPool } from '@bulwark/db';
import { catalogError } from '../errors.ts';
import { recordCatalogEvent } from '../events/catalog-events.ts';
import { findDeliveredOrderOf } from '../store/order-facts-store.ts';
import * as store from '../store/review-store.ts';
import type { RatingSummary, Review, WishlistItem } from '../store/review-store.ts';

export interface ReviewInput {
  rating: number;
  title: string;
  body: string;
}

const notFound = (productId: string) => catalogError('CATALOG_PRODUCT_NOT_FOUND', `product ${productId} does not exist`, { id: productId });

export async function saveReview(pool: DbPool, authorSub: string, productId: string, input: ReviewInput): Promise<{ review: Review; created: boolean; summary: RatingSummary }> {
  return withTransaction(pool, async (tx) => {
    if (!(await store.lockRatingSummary(tx, productId))) throw notFound(productId);
    const orderId = await findDeliveredOrderOf(tx, authorSub, productId);
    if (!orderId) throw catalogError('CATALOG_REVIEW_NOT_DELIVERED', 'a product is reviewed after an order of it was delivered', { productId });
    const previous = await store.findReview(tx, productId, authorSub);
    const review = await store.upsertReview(tx, { productId, authorSub, orderId: previous?.orderId ?? orderId, ...input });
    const summary = await store.adjustRating(tx, productId, previous ? 0 : 1, input.rating - (previous?.rating ?? 0));
    await recordCatalogEvent(tx, 'review-saved', productId, { productId, authorSub, rating: input.rating, previousRating: previous?.rating ?? null, ...summary });
    return { review, created: !previous, summary };
  });
}

/** Deletes the author's review (the author, or an admin moderating); 404 when there is none. */
export async function removeReview(pool: DbPool, authorSub: string, productId: string): Promise<RatingSummary> {
  return withTransaction(pool, async (tx) => {
    if (!(await store.lockRatingSummary(tx, productId))) throw notFound(productId);
    const rating = await store.deleteReview(tx, productId, authorSub);
    if (rating === undefined) throw catalogError('CATALOG_REVIEW_NOT_FOUND', 'no review of this product by this author', { productId, authorSub });
    const summary = await store.adjustRating(tx, productId, -1, -rating);
    await recordCatalogEvent(tx, 'review-deleted', productId, { productId, authorSub, previousRating: rating, ...summary });
    return summary;
  });
}

export async function productReviews(pool: DbPool, productId: string, limit: number, offset: number): Promise<RatingSummary & { items: Review[] }> {
  return withTransaction(pool, async (tx) => {
    const summary = await store.readRatingSummary(tx, productId);
    if (!summary) throw notFound(productId);
    return { ...summary, items: await store.listReviews(tx, productId, limit, offset) };
  });
}

export async function addToWishlist(pool: DbPool, ownerSub: string, productId: string): Promise<boolean> {
  return withTransaction(pool, async (tx) => {
    if (!(await store.productExists(tx, productId))) throw notFound(productId);
    const added = await store.addWishlistItem(tx, ownerSub, productId);
    if (added) await recordCatalogEvent(tx, 'wishlist-item-added', productId, { productId, ownerSub });
    return added;
  });
}

/** Idempotent: removing a product that is not on the list answers the same. */
export async function removeFromWishlist(pool: DbPool, ownerSub: string, productId: string): Promise<void> {
  await withTransaction(pool, async (tx) => {
    if (await store.removeWishlistItem(tx, ownerSub, productId)) await recordCatalogEvent(tx, 'wishlist-item-removed', productId, { productId, ownerSub });
  });
}

export async function wishlistOf(pool: DbPool, ownerSub: string): Promise<WishlistItem[]> {
  return store.listWishlist(pool, ownerSub);
}
