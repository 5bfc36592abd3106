/**
 * Reviews, wishlists and the sales summary. Reading reviews is for everyone
 * in the tenant; writing one needs a verified customer (x-auth-sub with the
 * `orders` role, or admin); a wishlist is its verified owner's; an admin may
 * delete anyone's review and reads the sales summary.
 */
import type { Request, RequestHandler } from 'express';
import type { Cache } from '@bulwark/cache';
import type { DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { forgetCachedProduct } from '../domain/products.ts';
import { addToWishlist, productReviews, removeFromWishlist, removeReview, saveReview, wishlistOf } from '../domain/reviews.ts';
import { salesSummary } from '../domain/sales.ts';
import { catalogError } from '../errors.ts';
import { ADMIN_HEADERS, ADMIN_ROLE, requireAdmin } from './admin.ts';
import {
  ModerateReviewParams,
  RatingSummaryResponse,
  ReviewBody,
  ReviewListResponse,
  ReviewParams,
  ReviewResponse,
  ReviewsQuery,
  SalesQuery,
  SalesResponse,
  WishlistChangeResponse,
  WishlistParams,
  WishlistResponse,
} from './review-schemas.ts';

/** The role of a customer (the one placing orders needs). */
export const CUSTOMER_ROLE = 'orders';

const USER_HEADERS = [
  { name: 'x-auth-sub', description: 'The verified subject (set by the gateway).', required: true },
  { name: 'x-auth-roles', description: 'Comma-separated verified roles (set by the gateway).' },
] as const;

const rolesOf = (req: Request) => (req.get('x-auth-roles') ?? '').split(',').map((r) => r.trim());
const subOf = (req: Request): string => req.get('x-auth-sub')!;

const requireUser: RequestHandler = (req, _res, next) => {
  if (!req.get('x-auth-sub')) return next(catalogError('CATALOG_LOGIN_REQUIRED', 'reviews and wishlists need a logged-in user'));
  next();
};
const requireCustomer: RequestHandler = (req, _res, next) => {
  const roles = rolesOf(req);
  if (!roles.includes(CUSTOMER_ROLE) && !roles.includes(ADMIN_ROLE)) return next(catalogError('CATALOG_CUSTOMER_ONLY', `a review needs the ${CUSTOMER_ROLE} role`, { role: CUSTOMER_ROLE }));
  next();
};

export function registerReviewRoutes(r: RouteRegistrar, deps: { pool: DbPool; products: Cache }): void {
  const { pool } = deps;
  /** A review changes the product's rating, which the cached product shows. */
  const ratingChanged = (productId: string) => forgetCachedProduct(deps.products, productId);
  const user = { headers: USER_HEADERS, middleware: [requireUser] };

  r.get('/v1/products/:id/reviews', {
    summary: "A product's rating (count, average) and its reviews, newest first",
    errors: ['CATALOG_PRODUCT_NOT_FOUND'],
    params: ReviewParams,
    query: ReviewsQuery,
    responses: { 200: ReviewListResponse },
    handler: async ({ params, query }) => ({ status: 200, body: await productReviews(pool, params.id, query.limit, query.offset) }),
  });
  r.put('/v1/products/:id/reviews/mine', {
    summary: "Write or replace the caller's review (a customer with a delivered order of the product); the rating summary changes in the same transaction",
    errors: ['CATALOG_LOGIN_REQUIRED', 'CATALOG_CUSTOMER_ONLY', 'CATALOG_PRODUCT_NOT_FOUND', 'CATALOG_REVIEW_NOT_DELIVERED'],
    params: ReviewParams,
    body: ReviewBody,
    headers: USER_HEADERS,
    middleware: [requireUser, requireCustomer],
    responses: { 200: ReviewResponse, 201: ReviewResponse },
    handler: async ({ params, body, req }) => {
      const { review, created, summary } = await saveReview(pool, subOf(req), params.id, body);
      await ratingChanged(params.id);
      return { status: created ? 201 : 200, body: { review, ...summary } };
    },
  });
  r.delete('/v1/products/:id/reviews/mine', {
    summary: "Delete the caller's review",
    errors: ['CATALOG_LOGIN_REQUIRED', 'CATALOG_PRODUCT_NOT_FOUND', 'CATALOG_REVIEW_NOT_FOUND'],
    params: ReviewParams,
    ...user,
    responses: { 200: RatingSummaryResponse },
    handler: async ({ params, req }) => {
      const summary = await removeReview(pool, subOf(req), params.id);
      await ratingChanged(params.id);
      return { status: 200, body: summary };
    },
  });
  r.delete('/v1/products/:id/reviews/:authorSub', {
    summary: "Delete anyone's review (admin moderation)",
    errors: ['CATALOG_ADMIN_ONLY', 'CATALOG_PRODUCT_NOT_FOUND', 'CATALOG_REVIEW_NOT_FOUND'],
    params: ModerateReviewParams,
    headers: ADMIN_HEADERS,
    middleware: [requireAdmin],
    responses: { 200: RatingSummaryResponse },
    handler: async ({ params }) => {
      const summary = await removeReview(pool, params.authorSub, params.id);
      await ratingChanged(params.id);
      return { status: 200, body: summary };
    },
  });

  r.get('/v1/wishlist', {
    summary: "The caller's wishlist, newest first",
    errors: ['CATALOG_LOGIN_REQUIRED'],
    ...user,
    responses: { 200: WishlistResponse },
    handler: async ({ req }) => ({ status: 200, body: { items: await wishlistOf(pool, subOf(req)) } }),
  });
  r.put('/v1/wishlist/:productId', {
    summary: "Add a product to the caller's wishlist (201 when added, 200 when it was there)",
    errors: ['CATALOG_LOGIN_REQUIRED', 'CATALOG_PRODUCT_NOT_FOUND'],
    params: WishlistParams,
    ...user,
    responses: { 200: WishlistChangeResponse, 201: WishlistChangeResponse },
    handler: async ({ params, req }) => {
      const added = await addToWishlist(pool, subOf(req), params.productId);
      return { status: added ? 201 : 200, body: { productId: params.productId, added } };
    },
  });
  r.delete('/v1/wishlist/:productId', {
    summary: "Remove a product from the caller's wishlist (204 either way)",
    errors: ['CATALOG_LOGIN_REQUIRED'],
    params: WishlistParams,
    ...user,
    responses: { 204: null },
    handler: async ({ params, req }) => {
      await removeFromWishlist(pool, subOf(req), params.productId);
      return { status: 204 };
    },
  });

  r.get('/v1/admin/sales', {
    summary: 'Sales summary per UTC day (admin): confirmed orders, revenue and top products, from orders\' events',
    errors: ['CATALOG_ADMIN_ONLY'],
    query: SalesQuery,
    headers: ADMIN_HEADERS,
    middleware: [requireAdmin],
    responses: { 200: SalesResponse },
    handler: async ({ query }) => ({ status: 200, body: await salesSummary(pool, query.from, query.to, query.top) }),
  });
}
