/**
 * Cart use cases: open (a user's one open cart, or a new guest cart with its
 * secret), read, set or remove a line, and fold a guest cart into the user's
 * at login. Setting a line snapshots the variant's price and checks the
 * quantity against inventory's available stock; every write pushes the
 * expiry out by the TTL. Each write is one transaction that locks the cart
 * row, so two tabs writing one cart take turns. The caller's tenant is the
 * ambient database context (the route enters it).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { withTransaction, type DbPool, type Queryable } from '@bulwark/db';
import { catalogError } from '../errors.ts';
import * as store from '../store/cart-store.ts';
import type { Cart, StoredCart } from '../store/cart-store.ts';
import { currencyOf, MAX_CART_LINES, mergeLines, shortagesOf } from './cart-pricing.ts';
import type { CartServices, Principal } from './cart-services.ts';

export interface CartDeps {
  pool: DbPool;
  services: CartServices;
  ttlSeconds: number;
}

/** Who is asking: a verified user, or a guest holding a cart's secret. */
export type CartCaller = { kind: 'user'; principal: Principal } | { kind: 'guest'; secret: string };

/** A guest's cart token is `<tenant>~<secret>`: `~` never occurs in a tenant id. */
export function guestTokenOf(tenant: string, secret: string): string {
  return `${tenant}~${secret}`;
}

export function parseGuestToken(token: string): { tenant: string; secret: string } | undefined {
  const at = token.lastIndexOf('~');
  if (at <= 0 || at === token.length - 1) return undefined;
  return { tenant: token.slice(0, at), secret: token.slice(at + 1) };
}

const hashOf = (secret: string): Buffer => createHash('sha256').update(secret).digest();

function mayReach(cart: StoredCart, caller: CartCaller): boolean {
  if (caller.kind === 'user') return cart.ownerSub === caller.principal.sub;
  return cart.guestSecretHash !== null && timingSafeEqual(cart.guestSecretHash, hashOf(caller.secret));
}

const view = ({ guestSecretHash: _hidden, ...cart }: StoredCart): Cart => cart;

/** The cart if the caller may reach it (404 otherwise, as if it did not exist). */
export async function reachableCart(db: Queryable, caller: CartCaller, id: string, lock = false): Promise<StoredCart> {
  const cart = await store.findCart(db, id, lock);
  if (!cart || !mayReach(cart, caller)) throw catalogError('CATALOG_CART_NOT_FOUND', `cart ${id} does not exist`, { cartId: id });
  return cart;
}

/** An open cart that has not expired, or the problem saying why it takes no writes. */
export function assertWritable(cart: StoredCart): void {
  if (cart.status !== 'open') throw catalogError('CATALOG_CART_CLOSED', `cart ${cart.id} is ${cart.status.replace('_', ' ')}`, { cartId: cart.id, status: cart.status, mergedInto: cart.mergedInto, orderId: cart.orderId });
  if (cart.pendingOrder !== null) throw catalogError('CATALOG_CART_CHECKOUT_PENDING', `cart ${cart.id} is being checked out as order ${cart.pendingOrder}`, { cartId: cart.id, orderId: cart.pendingOrder });
  if (cart.expired) throw catalogError('CATALOG_CART_EXPIRED', `cart ${cart.id} expired at ${cart.expiresAt}`, { cartId: cart.id, expiresAt: cart.expiresAt });
}

/**
 * A user's open cart (created on first use; an expired one is emptied and
 * lives on), or a new guest cart with the token that reaches it.
 */
export async function openCart(deps: CartDeps, caller: { kind: 'user'; principal: Principal } | { kind: 'guest'; tenant: string }): Promise<{ cart: Cart; created: boolean; guestToken?: string }> {
  if (caller.kind === 'guest') {
    const secret = randomBytes(24).toString('base64url');
    const id = randomUUID();
    await withTransaction(deps.pool, (tx) => store.insertCart(tx, { id, ownerSub: null, guestSecretHash: hashOf(secret), ttlSeconds: deps.ttlSeconds }));
    const cart = (await store.findCart(deps.pool, id))!;
    return { cart: view(cart), created: true, guestToken: guestTokenOf(caller.tenant, secret) };
  }
  const { sub } = caller.principal;
  return withTransaction(deps.pool, async (tx) => {
    const existing = await store.findOpenUserCart(tx, sub);
    if (existing && !existing.expired) return { cart: view(existing), created: false };
    if (existing) {
      await store.clearCart(tx, existing.id);
      await store.touchCart(tx, existing.id, deps.ttlSeconds);
      return { cart: view((await store.findCart(tx, existing.id))!), created: true };
    }
    const id = randomUUID();
    const inserted = await store.insertCart(tx, { id, ownerSub: sub, guestSecretHash: null, ttlSeconds: deps.ttlSeconds });
    // Lost a race with another first request of the same user: theirs is the cart.
    const cart = inserted ? await store.findCart(tx, id) : await store.findOpenUserCart(tx, sub);
    return { cart: view(cart!), created: inserted };
  });
}

export async function readCart(deps: CartDeps, caller: CartCaller, id: string): Promise<Cart> {
  return view(await reachableCart(deps.pool, caller, id));
}

/** Sets a line's quantity at today's price, checked against available stock. */
export async function setLine(deps: CartDeps, caller: CartCaller, id: string, sku: string, quantity: number): Promise<Cart> {
  return withTransaction(deps.pool, async (tx) => {
    const cart = await reachableCart(tx, caller, id, true);
    assertWritable(cart);
    const variant = (await store.currentVariants(tx, [sku])).get(sku);
    if (!variant) throw catalogError('CATALOG_CART_UNKNOWN_SKU', `no product has a variant ${sku}`, { sku });
    const others = cart.items.filter((l) => l.sku !== sku);
    const currency = currencyOf(others);
    if (currency !== undefined && currency !== variant.price.currency) {
      throw catalogError('CATALOG_CART_CURRENCY_MISMATCH', `${sku} is priced in ${variant.price.currency}, the cart in ${currency}`, { sku, currency });
    }
    if (others.length >= MAX_CART_LINES) throw catalogError('CATALOG_CART_FULL', `a cart holds at most ${MAX_CART_LINES} lines`, { maxLines: MAX_CART_LINES });
    const short = shortagesOf([{ sku, quantity }], await deps.services.stock.available([sku]));
    if (short.length > 0) throw catalogError('CATALOG_CART_INSUFFICIENT_STOCK', `only ${short[0]!.available} of ${sku} available`, { items: short });
    await store.upsertLine(tx, id, { sku, productId: variant.productId, name: variant.name, quantity, unitPrice: variant.price });
    await store.touchCart(tx, id, deps.ttlSeconds);
    return view((await store.findCart(tx, id))!);
  });
}

export async function removeLine(deps: CartDeps, caller: CartCaller, id: string, sku: string): Promise<Cart> {
  return withTransaction(deps.pool, async (tx) => {
    const cart = await reachableCart(tx, caller, id, true);
    assertWritable(cart);
    await store.deleteLine(tx, id, sku);
    await store.touchCart(tx, id, deps.ttlSeconds);
    return view((await store.findCart(tx, id))!);
  });
}

/**
 * Folds the guest cart `guestToken` opens into the user's cart `id` (same
 * tenant only) and closes it as merged. Merging the same guest cart again
 * answers the user's cart unchanged. Stock is judged at checkout.
 */
export async function mergeGuestCart(deps: CartDeps, principal: Principal, id: string, guestToken: string): Promise<Cart> {
  const guest = parseGuestToken(guestToken);
  return withTransaction(deps.pool, async (tx) => {
    const mine = await reachableCart(tx, { kind: 'user', principal }, id, true);
    assertWritable(mine);
    // Another tenant's token opens nothing here (row-level security hides its cart): the same 404 as a wrong secret.
    const guestId = guest && guest.tenant === principal.tenant ? await guestCartId(tx, guest.secret) : undefined;
    if (!guestId) throw catalogError('CATALOG_CART_NOT_FOUND', 'no guest cart for this token', { cartId: null });
    const theirs = (await reachableCart(tx, { kind: 'guest', secret: guest!.secret }, guestId, true));
    if (theirs.status === 'merged' && theirs.mergedInto === id) return view(mine);
    assertWritable(theirs);
    const merged = mergeLines(mine.items, theirs.items);
    if (merged.length > MAX_CART_LINES) throw catalogError('CATALOG_CART_FULL', `a cart holds at most ${MAX_CART_LINES} lines`, { maxLines: MAX_CART_LINES });
    const currency = currencyOf(mine.items);
    const foreign = theirs.items.find((l) => currency !== undefined && l.unitPrice.currency !== currency);
    if (foreign) throw catalogError('CATALOG_CART_CURRENCY_MISMATCH', `${foreign.sku} is priced in ${foreign.unitPrice.currency}, the cart in ${currency}`, { sku: foreign.sku, currency });
    for (const line of merged) await store.upsertLine(tx, id, line);
    await store.markMerged(tx, guestId, id);
    await store.touchCart(tx, id, deps.ttlSeconds);
    return view((await store.findCart(tx, id))!);
  });
}

async function guestCartId(db: Queryable, secret: string): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>({ name: 'catalog.guest_cart_by_secret', text: 'SELECT id FROM carts WHERE guest_secret_hash = $1', values: [hashOf(secret)] });
  return rows[0]?.id;
}
