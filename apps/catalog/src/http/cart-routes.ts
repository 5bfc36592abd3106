/**
 * Cart routes. The caller is a verified user (x-auth-sub from the gateway,
 * tenant from x-auth-tenant) or a guest holding a cart token (`cart-token:
 * <tenant>~<secret>`, given when the guest cart was created); the gateway's
 * /v1/carts route lets both through. Checkout and merge need a user;
 * checkout needs an Idempotency-Key (packages/idempotency), whose request
 * transaction the use case writes through, and the `orders` role.
 */
import type { Request, RequestHandler } from 'express';
import { currentDbContext, withTenant } from '@bulwark/db';
import { requestTransaction } from '@bulwark/idempotency';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { checkoutCart } from '../domain/cart-checkout.ts';
import type { Principal } from '../domain/cart-services.ts';
import { mergeGuestCart, openCart, parseGuestToken, readCart, removeLine, setLine, type CartCaller, type CartDeps } from '../domain/carts.ts';
import { catalogError } from '../errors.ts';
import type { Cart } from '../store/cart-store.ts';
import { CartIdParams, CartLineParams, CartResponse, CheckoutBody, CheckoutResponse, MergeBody, OpenCartBody, SetLineBody } from './cart-schemas.ts';

const CART_TOKEN_HEADER = { name: 'cart-token', description: "A guest's cart token (`guestToken` from POST /v1/carts); a verified user needs none." } as const;
const USER_HEADERS = [
  { name: 'x-auth-sub', description: 'The verified subject (set by the gateway).' },
  { name: 'x-auth-roles', description: 'Comma-separated verified roles (set by the gateway).' },
] as const;

function principalOf(req: Request): Principal | undefined {
  const sub = req.get('x-auth-sub');
  if (!sub) return undefined;
  const context = currentDbContext();
  if (context?.kind !== 'tenant') throw catalogError('CATALOG_CART_LOGIN_REQUIRED', 'a verified user without an organisation has no cart');
  const roles = (req.get('x-auth-roles') ?? '').split(',').map((r) => r.trim()).filter(Boolean);
  return { sub, roles, tenant: context.tenant };
}

/** Runs `fn` as the request's caller: the user, or the guest its cart token names, in that token's tenant. */
function asCaller<T>(req: Request, fn: (caller: CartCaller) => Promise<T>): Promise<T> {
  const principal = principalOf(req);
  if (principal) return fn({ kind: 'user', principal });
  const token = parseGuestToken(req.get('cart-token') ?? '');
  if (!token) throw catalogError('CATALOG_CART_TOKEN_REQUIRED', 'a guest sends the cart-token of its cart');
  return withTenant(token.tenant, () => fn({ kind: 'guest', secret: token.secret }));
}

const requireUser: RequestHandler = (req, _res, next) => {
  if (!req.get('x-auth-sub')) return next(catalogError('CATALOG_CART_LOGIN_REQUIRED', 'checkout and merging need a logged-in user'));
  next();
};

/** Checkout places an order: the role the gateway asks of /v1/orders callers (or admin). */
export const ORDERS_ROLE = 'orders';
const requireOrdersRole: RequestHandler = (req, _res, next) => {
  const roles = (req.get('x-auth-roles') ?? '').split(',').map((r) => r.trim());
  if (!roles.includes(ORDERS_ROLE) && !roles.includes('admin')) return next(catalogError('CATALOG_CART_ROLE_REQUIRED', `checkout needs the ${ORDERS_ROLE} role`, { role: ORDERS_ROLE }));
  next();
};

const body = (cart: Cart, guestToken?: string) => ({ ...cart, totalMinor: cart.items.reduce((sum, l) => sum + l.quantity * l.unitPrice.amount, 0), ...(guestToken ? { guestToken } : {}) });

export function registerCartRoutes(r: RouteRegistrar, deps: CartDeps & { idempotency: RequestHandler }): void {
  const reach = ['CATALOG_CART_TOKEN_REQUIRED', 'CATALOG_CART_LOGIN_REQUIRED', 'CATALOG_CART_NOT_FOUND'];
  const write = [...reach, 'CATALOG_CART_CLOSED', 'CATALOG_CART_CHECKOUT_PENDING', 'CATALOG_CART_EXPIRED'];
  const headers = [CART_TOKEN_HEADER, ...USER_HEADERS];

  r.post('/v1/carts', {
    summary: "A user's open cart (created on first use), or a new guest cart and its token (a guest names the storefront tenant)",
    errors: ['CATALOG_CART_TOKEN_REQUIRED', 'CATALOG_CART_LOGIN_REQUIRED'],
    headers: USER_HEADERS,
    body: OpenCartBody,
    responses: { 200: CartResponse, 201: CartResponse },
    handler: async ({ body: input, req }) => {
      const principal = principalOf(req);
      if (principal) {
        const { cart, created } = await openCart(deps, { kind: 'user', principal });
        return created ? { status: 201, body: body(cart), headers: { location: `/v1/carts/${cart.id}` } } : { status: 200, body: body(cart) };
      }
      const tenant = input.tenant;
      if (tenant === undefined) throw catalogError('CATALOG_CART_TOKEN_REQUIRED', 'a guest names the storefront tenant to create a cart');
      const { cart, guestToken } = await withTenant(tenant, () => openCart(deps, { kind: 'guest', tenant }));
      return { status: 201, body: body(cart, guestToken), headers: { location: `/v1/carts/${cart.id}` } };
    },
  });
  r.get('/v1/carts/:id', {
    summary: 'A cart with its lines at their snapshotted prices',
    errors: reach,
    headers,
    params: CartIdParams,
    responses: { 200: CartResponse },
    handler: async ({ params, req }) => ({ status: 200, body: body(await asCaller(req, (caller) => readCart(deps, caller, params.id))) }),
  });
  r.put('/v1/carts/:id/items/:sku', {
    summary: "Set a line's quantity at today's price (snapshotted), checked against inventory's available stock",
    errors: [...write, 'CATALOG_CART_UNKNOWN_SKU', 'CATALOG_CART_CURRENCY_MISMATCH', 'CATALOG_CART_FULL', 'CATALOG_CART_INSUFFICIENT_STOCK', 'CATALOG_CART_UPSTREAM'],
    headers,
    params: CartLineParams,
    body: SetLineBody,
    responses: { 200: CartResponse },
    handler: async ({ params, body: input, req }) => ({ status: 200, body: body(await asCaller(req, (caller) => setLine(deps, caller, params.id, params.sku, input.quantity))) }),
  });
  r.delete('/v1/carts/:id/items/:sku', {
    summary: 'Remove a line (absent already: unchanged)',
    errors: write,
    headers,
    params: CartLineParams,
    responses: { 200: CartResponse },
    handler: async ({ params, req }) => ({ status: 200, body: body(await asCaller(req, (caller) => removeLine(deps, caller, params.id, params.sku))) }),
  });
  r.post('/v1/carts/:id/merge', {
    summary: "Fold a guest cart into the user's cart at login (quantities add up; the guest cart closes as merged; again: unchanged)",
    errors: [...write, 'CATALOG_CART_LOGIN_REQUIRED', 'CATALOG_CART_FULL', 'CATALOG_CART_CURRENCY_MISMATCH'],
    headers: USER_HEADERS,
    params: CartIdParams,
    body: MergeBody,
    middleware: [requireUser],
    responses: { 200: CartResponse },
    handler: async ({ params, body: input, req }) => ({ status: 200, body: body(await mergeGuestCart(deps, principalOf(req)!, params.id, input.guestToken)) }),
  });
  r.post('/v1/carts/:id/checkout', {
    summary: 'Re-price and stock-check the cart, create its order and start the checkout saga, once per Idempotency-Key (and once per cart)',
    errors: [...write, 'CATALOG_CART_LOGIN_REQUIRED', 'CATALOG_CART_ROLE_REQUIRED', 'CATALOG_CART_EMPTY', 'CATALOG_CART_PRICE_CHANGED', 'CATALOG_CART_ITEM_UNAVAILABLE', 'CATALOG_CART_INSUFFICIENT_STOCK', 'CATALOG_CART_ORDER_REFUSED', 'CATALOG_CART_UPSTREAM'],
    headers: USER_HEADERS,
    params: CartIdParams,
    body: CheckoutBody,
    // The user first: a guest never reaches (or consumes) an Idempotency-Key.
    middleware: [requireUser, requireOrdersRole, deps.idempotency],
    responses: { 201: CheckoutResponse },
    handler: async ({ params, body: input, req }) => {
      const request = requestTransaction();
      if (!request) throw new Error('no request transaction: the checkout route mounts the idempotency middleware');
      const result = await checkoutCart(deps, request.tx, principalOf(req)!, params.id, input.address);
      return { status: 201, body: result, headers: { location: `/v1/orders/${result.orderId}/checkout` } };
    },
  });
}
