/**
 * Error codes of the catalog service, registered once at import. Each code
 * means one thing forever; the service kit maps them to problem+json.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const CATALOG_ERROR_CODES = [
  { code: 'CATALOG_ADMIN_ONLY', status: 403, title: 'Admin role required', description: 'Catalog writes need the `admin` role in the verified principal (x-auth-roles, set by the gateway).' },
  { code: 'CATALOG_PRODUCT_NOT_FOUND', status: 404, title: 'Product not found', description: 'No product with this id exists in the tenant.' },
  { code: 'CATALOG_CATEGORY_NOT_FOUND', status: 404, title: 'Category not found', description: 'The named category (`category`) does not exist in the tenant.' },
  { code: 'CATALOG_UNKNOWN_CATEGORY', status: 422, title: 'Unknown category', description: 'The product or category names a category (`category`) that does not exist; create it with PUT /v1/categories/:slug first.' },
  { code: 'CATALOG_CATEGORY_CYCLE', status: 422, title: 'Category cycle', description: 'The parent named would make the category its own ancestor.' },
  { code: 'CATALOG_CATEGORY_IN_USE', status: 409, title: 'Category in use', description: 'A category with subcategories or products cannot be deleted.' },
  { code: 'CATALOG_SLUG_TAKEN', status: 409, title: 'Slug taken', description: 'Another product of the tenant has this slug.' },
  { code: 'CATALOG_SKU_TAKEN', status: 409, title: 'SKU taken', description: 'Another product of the tenant has a variant with this SKU (`sku`).' },
  { code: 'CATALOG_CART_NOT_FOUND', status: 404, title: 'Cart not found', description: 'No cart with this id that the caller may reach: a user reaches their own carts, a guest the cart its `cart-token` opens.' },
  { code: 'CATALOG_CART_TOKEN_REQUIRED', status: 401, title: 'Cart token required', description: 'A guest (no verified principal) names the cart with the `cart-token` header POST /v1/carts answered, or creates one naming the storefront `tenant`.' },
  { code: 'CATALOG_CART_EXPIRED', status: 410, title: 'Cart expired', description: 'The cart was not written for CART_TTL_SECONDS; a user gets a fresh one from POST /v1/carts, a guest creates another.' },
  { code: 'CATALOG_CART_CLOSED', status: 409, title: 'Cart closed', description: 'The cart was merged into a user\'s cart (`mergedInto`) or checked out (`orderId`) and takes no more changes.' },
  { code: 'CATALOG_CART_CHECKOUT_PENDING', status: 409, title: 'Checkout pending', description: 'A checkout of the cart reached orders and has not finished (`orderId`); the cart takes no edits until POST /v1/carts/:id/checkout (any Idempotency-Key) finishes that order.' },
  { code: 'CATALOG_CART_UNKNOWN_SKU', status: 422, title: 'Unknown SKU', description: 'No product of the tenant has a variant with this SKU (`sku`).' },
  { code: 'CATALOG_CART_CURRENCY_MISMATCH', status: 422, title: 'Currency mismatch', description: 'A cart becomes one order in one currency; the variant (`sku`) is priced in another currency than the lines already in the cart (`currency`).' },
  { code: 'CATALOG_CART_FULL', status: 422, title: 'Cart full', description: 'A cart holds at most 100 lines (an order\'s limit).' },
  { code: 'CATALOG_CART_INSUFFICIENT_STOCK', status: 409, title: 'Insufficient stock', description: 'Inventory has fewer units available than the cart asks for; `items` lists each short SKU with `requested` and `available`.' },
  { code: 'CATALOG_CART_PRICE_CHANGED', status: 409, title: 'Price changed', description: 'At checkout a line\'s price differs from the one snapshotted when it was added; `changes` lists `sku`, `was` and `now`. The cart now holds today\'s prices: review it and check out again with a new Idempotency-Key.' },
  { code: 'CATALOG_CART_ITEM_UNAVAILABLE', status: 422, title: 'Item unavailable', description: 'At checkout a line names a SKU no product has any more (`skus`); remove it and check out again.' },
  { code: 'CATALOG_CART_EMPTY', status: 422, title: 'Cart empty', description: 'A cart without lines cannot be checked out.' },
  { code: 'CATALOG_CART_LOGIN_REQUIRED', status: 403, title: 'Login required', description: 'Checkout and merging need a verified user (an order belongs to a customer); a guest logs in and merges its cart first.' },
  { code: 'CATALOG_CART_ROLE_REQUIRED', status: 403, title: 'Orders role required', description: 'Checkout places an order, which needs the `orders` role (as the gateway asks on /v1/orders); `role` names it.' },
  { code: 'CATALOG_CART_ORDER_REFUSED', status: 422, title: 'Order refused', description: 'orders refused the order made from the cart (its problem is in `upstream`).' },
  { code: 'CATALOG_CART_UPSTREAM', status: 503, title: 'Service unavailable', description: 'inventory or orders (`service`) could not be reached; retry the same request with the same Idempotency-Key.' },
  { code: 'CATALOG_LOGIN_REQUIRED', status: 403, title: 'Login required', description: 'Reviews and wishlists belong to a verified user (x-auth-sub, set by the gateway).' },
  { code: 'CATALOG_CUSTOMER_ONLY', status: 403, title: 'Customer role required', description: 'Writing a review needs the customer role (`role`: orders, as placing the order did).' },
  { code: 'CATALOG_REVIEW_NOT_DELIVERED', status: 403, title: 'Not delivered', description: 'A product is reviewed only by a customer with a shipped, not cancelled order holding one of its variants (learned from orders\' events; a just-shipped order may take a moment to arrive).' },
  { code: 'CATALOG_REVIEW_NOT_FOUND', status: 404, title: 'Review not found', description: 'The author (`authorSub`) has no review of this product (`productId`).' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(CATALOG_ERROR_CODES);

export type CatalogErrorCode = (typeof CATALOG_ERROR_CODES)[number]['code'];

/** The one way this service raises its codes. */
export function catalogError(code: CatalogErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  const status = CATALOG_ERROR_CODES.find((c) => c.code === code)!.status;
  return new AppError(code, message, { status, extensions });
}
