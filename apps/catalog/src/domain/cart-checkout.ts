/**
 * Checkout from a cart: inside the request transaction of the Idempotency-Key
 * (the stored answer commits with the cart's new state, so a retry with the
 * key replays it), lock the user's cart, re-price every line against today's
 * variants, check stock, then drive orders as the customer: create the order
 * (its id derived from the cart and its revision, so a second attempt at the
 * same cart finds it, and a cart changed since becomes another order), add the lines
 * and the address at exact expected versions, and POST its checkout with a key
 * derived from the cart, which starts the saga once. A step that orders
 * answers 409 ORDERS_VERSION_CONFLICT / ORDERS_ALREADY_EXISTS was done by an
 * earlier attempt that crashed before its answer was stored; it is skipped.
 * Only then is the cart marked checked out with the order id.
 */
import type { DbClient } from '@bulwark/db';
import { catalogError } from '../errors.ts';
import * as store from '../store/cart-store.ts';
import { repriceLines, shortagesOf } from './cart-pricing.ts';
import type { Principal } from './cart-services.ts';
import { assertWritable, reachableCart, type CartDeps } from './carts.ts';

export interface Address {
  line1: string;
  city: string;
  postalCode: string;
  country: string;
}

export interface CheckoutResult {
  cartId: string;
  orderId: string;
  totalMinor: number;
  currency: string;
  saga: { sagaId: string; status: string };
}

/** The order a cart at a revision becomes: one, whoever retries. */
export const orderIdOf = (cartId: string, revision: number): string => `cart-${cartId}-r${revision}`;

export interface CheckoutTransaction {
  tx: DbClient;
  /** Keep the cart's new prices even though the answer is a 409 (the client reviews them). */
  keepWritesOnFailure(): void;
}

export async function checkoutCart(deps: CartDeps, request: CheckoutTransaction, principal: Principal, cartId: string, address: Address): Promise<CheckoutResult> {
  const { tx } = request;
  const cart = await reachableCart(tx, { kind: 'user', principal }, cartId, true);
  assertWritable(cart);
  if (cart.items.length === 0) throw catalogError('CATALOG_CART_EMPTY', `cart ${cartId} has no lines`, { cartId });

  const repriced = repriceLines(cart.items, await store.currentVariants(tx, cart.items.map((l) => l.sku)));
  if (repriced.unavailable.length > 0) throw catalogError('CATALOG_CART_ITEM_UNAVAILABLE', `no product has ${repriced.unavailable.join(', ')} any more`, { skus: repriced.unavailable });
  if (repriced.changed.length > 0) {
    for (const line of repriced.lines) await store.upsertLine(tx, cartId, line);
    await store.touchCart(tx, cartId, deps.ttlSeconds);
    request.keepWritesOnFailure();
    throw catalogError('CATALOG_CART_PRICE_CHANGED', `${repriced.changed.length} price(s) changed since they were added`, { changes: repriced.changed });
  }
  const short = shortagesOf(repriced.lines, await deps.services.stock.available(repriced.lines.map((l) => l.sku)));
  if (short.length > 0) throw catalogError('CATALOG_CART_INSUFFICIENT_STOCK', `${short.length} line(s) exceed the stock available`, { items: short });

  const orderId = orderIdOf(cartId, cart.revision);
  const orders = (method: 'POST' | 'PUT', path: string, body: unknown, key?: string) => deps.services.orders.call(principal, method, path, body, key);
  const done = (status: number, code: unknown, ...alreadyDone: string[]) => status < 300 || (status === 409 && alreadyDone.includes(String(code)));
  const refuse = (step: string, answer: { status: number; body: unknown }) =>
    catalogError('CATALOG_CART_ORDER_REFUSED', `orders refused ${step} (${answer.status})`, { step, upstream: answer.body ?? null });

  const created = await orders('POST', '/orders', { orderId, customerId: principal.sub });
  if (!done(created.status, created.body?.code, 'ORDERS_ALREADY_EXISTS')) throw refuse('creating the order', created);
  let version = 1;
  for (const line of repriced.lines) {
    version += 1;
    const added = await orders('POST', `/orders/${orderId}/items`, { sku: line.sku, quantity: line.quantity, unitPriceCents: line.unitPrice.amount, expectedVersion: version - 1 });
    if (!done(added.status, added.body?.code, 'ORDERS_VERSION_CONFLICT')) throw refuse(`adding ${line.sku}`, added);
  }
  const addressed = await orders('PUT', `/orders/${orderId}/address`, { address, expectedVersion: version });
  if (!done(addressed.status, addressed.body?.code, 'ORDERS_VERSION_CONFLICT')) throw refuse('setting the address', addressed);
  const checkout = await orders('POST', `/orders/${orderId}/checkout`, {}, `cart-checkout:${orderId}`);
  if (checkout.status !== 200 && checkout.status !== 202) throw refuse('starting the checkout', checkout);

  await store.markCheckedOut(tx, cartId, orderId);
  const totalMinor = repriced.lines.reduce((sum, l) => sum + l.quantity * l.unitPrice.amount, 0);
  return { cartId, orderId, totalMinor, currency: repriced.lines[0]!.unitPrice.currency, saga: { sagaId: checkout.body.sagaId, status: checkout.body.status } };
}
