/**
 * SQL of reviews, a product's rating summary (rating_count, rating_sum on
 * the product row) and wishlists; plain objects out. Every statement runs in
 * the caller's tenant and transaction.
 */
import type { Queryable } from '@bulwark/db';

export interface Review {
  productId: string;
  authorSub: string;
  rating: number;
  title: string;
  body: string;
  orderId: string;
  createdAt: string;
  updatedAt: string;
}

export interface RatingSummary {
  ratingCount: number;
  ratingAverage: number | null;
}

interface ReviewRow {
  product_id: string;
  author_sub: string;
  rating: number;
  title: string;
  body: string;
  order_id: string;
  created_at: Date;
  updated_at: Date;
}

const toReview = (r: ReviewRow): Review => ({
  productId: r.product_id,
  authorSub: r.author_sub,
  rating: r.rating,
  title: r.title,
  body: r.body,
  orderId: r.order_id,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const toSummary = (count: number, sum: number): RatingSummary => ({ ratingCount: count, ratingAverage: count === 0 ? null : Math.round((sum / count) * 100) / 100 });

/** Locks the product row (reviews of one product apply one at a time) and reads its summary; undefined when absent. */
export async function lockRatingSummary(db: Queryable, productId: string): Promise<RatingSummary | undefined> {
  const { rows } = await db.query<{ rating_count: number; rating_sum: string }>({
    name: 'catalog.lock_rating',
    text: 'SELECT rating_count, rating_sum FROM products WHERE id = $1 FOR UPDATE',
    values: [productId],
  });
  return rows[0] && toSummary(rows[0].rating_count, Number(rows[0].rating_sum));
}

export async function readRatingSummary(db: Queryable, productId: string): Promise<RatingSummary | undefined> {
  const { rows } = await db.query<{ rating_count: number; rating_sum: string }>({ name: 'catalog.read_rating', text: 'SELECT rating_count, rating_sum FROM products WHERE id = $1', values: [productId] });
  return rows[0] && toSummary(rows[0].rating_count, Number(rows[0].rating_sum));
}

/** Adds to the product's count and sum; returns the new summary. */
export async function adjustRating(db: Queryable, productId: string, countDelta: number, sumDelta: number): Promise<RatingSummary> {
  const { rows } = await db.query<{ rating_count: number; rating_sum: string }>({
    name: 'catalog.adjust_rating',
    text: 'UPDATE products SET rating_count = rating_count + $2, rating_sum = rating_sum + $3 WHERE id = $1 RETURNING rating_count, rating_sum',
    values: [productId, countDelta, sumDelta],
  });
  return toSummary(rows[0]!.rating_count, Number(rows[0]!.rating_sum));
}

export async function findReview(db: Queryable, productId: string, authorSub: string): Promise<Review | undefined> {
  const { rows } = await db.query<ReviewRow>({ name: 'catalog.find_review', text: 'SELECT * FROM reviews WHERE product_id = $1 AND author_sub = $2', values: [productId, authorSub] });
  return rows[0] && toReview(rows[0]);
}

export async function upsertReview(db: Queryable, r: { productId: string; authorSub: string; rating: number; title: string; body: string; orderId: string }): Promise<Review> {
  const { rows } = await db.query<ReviewRow>({
    name: 'catalog.upsert_review',
    text: `INSERT INTO reviews (product_id, author_sub, rating, title, body, order_id) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id, product_id, author_sub) DO UPDATE SET rating = EXCLUDED.rating, title = EXCLUDED.title, body = EXCLUDED.body, updated_at = now()
           RETURNING *`,
    values: [r.productId, r.authorSub, r.rating, r.title, r.body, r.orderId],
  });
  return toReview(rows[0]!);
}

export async function deleteReview(db: Queryable, productId: string, authorSub: string): Promise<number | undefined> {
  const { rows } = await db.query<{ rating: number }>({ name: 'catalog.delete_review', text: 'DELETE FROM reviews WHERE product_id = $1 AND author_sub = $2 RETURNING rating', values: [productId, authorSub] });
  return rows[0]?.rating;
}

export async function listReviews(db: Queryable, productId: string, limit: number, offset: number): Promise<Review[]> {
  const { rows } = await db.query<ReviewRow>({
    name: 'catalog.list_reviews',
    text: 'SELECT * FROM reviews WHERE product_id = $1 ORDER BY created_at DESC, author_sub LIMIT $2 OFFSET $3',
    values: [productId, limit, offset],
  });
  return rows.map(toReview);
}

export interface WishlistItem {
  productId: string;
  slug: string;
  name: string;
  brand: string;
  priceMin: number;
  addedAt: string;
}

/** Adds the product; true when it was not there yet. */
export async function addWishlistItem(db: Queryable, ownerSub: string, productId: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'catalog.add_wishlist_item',
    text: 'INSERT INTO wishlist_items (owner_sub, product_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    values: [ownerSub, productId],
  });
  return rowCount === 1;
}

export async function removeWishlistItem(db: Queryable, ownerSub: string, productId: string): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'catalog.remove_wishlist_item', text: 'DELETE FROM wishlist_items WHERE owner_sub = $1 AND product_id = $2', values: [ownerSub, productId] });
  return rowCount === 1;
}

export async function listWishlist(db: Queryable, ownerSub: string): Promise<WishlistItem[]> {
  const { rows } = await db.query<{ product_id: string; slug: string; name: string; brand: string; price_min: string; added_at: Date }>({
    name: 'catalog.list_wishlist',
    text: `SELECT w.product_id, p.slug, p.name, p.brand, p.price_min, w.added_at FROM wishlist_items w JOIN products p ON p.tenant_id = w.tenant_id AND p.id = w.product_id
           WHERE w.owner_sub = $1 ORDER BY w.added_at DESC, w.product_id LIMIT 500`,
    values: [ownerSub],
  });
  return rows.map((r) => ({ productId: r.product_id, slug: r.slug, name: r.name, brand: r.brand, priceMin: Number(r.price_min), addedAt: r.added_at.toISOString() }));
}

export async function productExists(db: Queryable, productId: string): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'catalog.product_exists', text: 'SELECT 1 FROM products WHERE id = $1', values: [productId] });
  return rowCount === 1;
}
