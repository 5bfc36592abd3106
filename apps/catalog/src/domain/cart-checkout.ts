/**
 * Checkout from a cart, exactly once. First, in a transaction of its own:
 * lock the user's cart, re-price every line against today's variants (moved
 * prices: the cart takes them, 409), check stock (409), and commit the order
 * id the cart becomes as `pending_order`: from then on the cart takes no edits
 * and any retry, with any key, resumes that order. The order id is derived
 * from the cart and its revision. Then drive orders as the customer: create
 * the order, add the lines and the address at exact expected versions, POST
 * its checkout with a key derived from the order (which starts the saga
 * once); a step orders answers 409 ORDERS_ALREADY_EXISTS / VERSION_CONFLICT
 * was done by an earlier attempt and is skipped. Last, in the request
 * transaction of the Idempotency-Key (so it commits with the stored answer),
 * the cart is marked checked out with the order id. A refusal by orders
 * clears the pending mark; a transient failure keeps it (retry).
 */
import { withTransaction, type DbClient } from '@bulwark/db';
import { catalogError } from '../errors.ts';
import * as store from '../store/cart-store.ts';
import type { CartLine } from '../store/cart-store.ts';
import { repriceLines, shortagesOf, type PriceChange } from './cart-pricing.ts';
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

/**
 * What the first transaction decided: go on with this order (marked pending
 * on the cart and committed, so the cart takes no edits until it is checked
 * out), or the prices that moved (the cart now holds today's, committed too).
 */
type Prepared = { orderId: string; lines: CartLine[] } | { changes: PriceChange[] };

/** Locks the cart, re-prices and stock-checks it, and commits `pending_order`; a pending cart resumes its order as it is. */
async function prepareCheckout(deps: CartDeps, principal: Principal, cartId: string): Promise<Prepared> {
  return withTransaction(deps.pool, async (tx) => {
    const cart = await reachableCart(tx, { kind: 'user', principal }, cartId, true);
    if (cart.status === 'open' && cart.pendingOrder !== null) return { orderId: cart.pendingOrder, lines: cart.items };
    assertWritable(cart);
    if (cart.items.length === 0) throw catalogError('CATALOG_CART_EMPTY', `cart ${cartId} has no lines`, { cartId });
    const repriced = repriceLines(cart.items, await store.currentVariants(tx, cart.items.map((l) => l.sku)));
    if (repriced.unavailable.length > 0) throw catalogError('CATALOG_CART_ITEM_UNAVAILABLE', `no product has ${repriced.unavailable.join(', ')} any more`, { skus: repriced.unavailable });
    if (repriced.changed.length > 0) {
      for (const line of repriced.lines) await store.upsertLine(tx, cartId, line);
      await store.touchCart(tx, cartId, deps.ttlSeconds);
      return { changes: repriced.changed };
    }
    const short = shortagesOf(repriced.lines, await deps.services.stock.available(repriced.lines.map((l) => l.sku)));
    if (short.length > 0) throw catalogError('CATALOG_CART_INSUFFICIENT_STOCK', `${short.length} line(s) exceed the stock available`, { items: short });
    const orderId = orderIdOf(cartId, cart.revision);
    await store.setPendingOrder(tx, cartId, orderId);
    return { orderId, lines: repriced.lines };
  });
}

/**
 * `tx`: the Idempotency-Key's request transaction; only the final
 * `checked_out` mark is written through it, so it commits with the stored answer.
 */
export async function checkoutCart(deps: CartDeps, tx: DbClient, principal: Principal, cartId: string, address: Address): Promise<CheckoutResult> {
  const prepared = await prepareCheckout(deps, principal, cartId);
  if ('changes' in prepared) throw catalogError('CATALOG_CART_PRICE_CHANGED', `${prepared.changes.length} price(s) changed since they were added`, { changes: prepared.changes });
  const { orderId, lines } = prepared;

  const orders = (method: 'POST' | 'PUT', path: string, body: unknown, key?: string) => deps.services.orders.call(principal, method, path, body, key);
  const done = (status: number, code: unknown, ...alreadyDone: string[]) => status < 300 || (status === 409 && alreadyDone.includes(String(code)));
  // orders said no (a 4xx that is not "already done"): the cart is editable again, the answer names orders' problem.
  const refuse = async (step: string, answer: { status: number; body: unknown }) => {
    await withTransaction(deps.pool, (t) => store.setPendingOrder(t, cartId, null));
    return catalogError('CATALOG_CART_ORDER_REFUSED', `orders refused ${step} (${answer.status})`, { step, upstream: answer.body ?? null });
  };

  const created = await orders('POST', '/orders', { orderId, customerId: principal.sub });
  if (!done(created.status, created.body?.code, 'ORDERS_ALREADY_EXISTS')) throw await refuse('creating the order', created);
  let version = 1;
  for (const line of lines) {
    version += 1;
    const added = await orders('POST', `/orders/${orderId}/items`, { sku: line.sku, quantity: line.quantity, unitPriceCents: line.unitPrice.amount, expectedVersion: version - 1 });
    if (!done(added.status, added.body?.code, 'ORDERS_VERSION_CONFLICT')) throw await refuse(`adding ${line.sku}`, added);
  }
  const addressed = await orders('PUT', `/orders/${orderId}/address`, { address, expectedVersion: version });
  if (!done(addressed.status, addressed.body?.code, 'ORDERS_VERSION_CONFLICT')) throw await refuse('setting the address', addressed);
  const checkout = await orders('POST', `/orders/${orderId}/checkout`, {}, `cart-checkout:${orderId}`);
  if (checkout.status !== 200 && checkout.status !== 202) throw await refuse('starting the checkout', checkout);

  await store.findCart(tx, cartId, true);
  await store.markCheckedOut(tx, cartId, orderId);
  const totalMinor = lines.reduce((sum, l) => sum + l.quantity * l.unitPrice.amount, 0);
  return { cartId, orderId, totalMinor, currency: lines[0]!.unitPrice.currency, saga: { sagaId: checkout.body.sagaId, status: checkout.body.status } };
}
