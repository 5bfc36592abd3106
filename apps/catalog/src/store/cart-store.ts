/**
 * SQL of carts and their lines; plain objects out, parameterised statements
 * only, every statement in the caller's tenant (row-level security). A line
 * keeps the variant's price as it was when the line was last set (the
 * snapshot); `currentVariants` reads today's price for re-pricing.
 */
import type { Queryable } from '@bulwark/db';

export type CartStatus = 'open' | 'merged' | 'checked_out';

export interface CartLine {
  sku: string;
  productId: string;
  name: string;
  quantity: number;
  unitPrice: { amount: number; currency: string };
}

export interface Cart {
  id: string;
  /** The user's subject; null for a guest cart. */
  ownerSub: string | null;
  status: CartStatus;
  /** Counts every write; checkout's order id names it. */
  revision: number;
  mergedInto: string | null;
  orderId: string | null;
  /** The order a checkout in progress makes; the cart takes no edits meanwhile. */
  pendingOrder: string | null;
  expiresAt: string;
  /** Judged by the database clock at read time. */
  expired: boolean;
  items: CartLine[];
}

interface CartRow {
  id: string;
  owner_sub: string | null;
  guest_secret_hash: Buffer | null;
  status: CartStatus;
  revision: number;
  merged_into: string | null;
  order_id: string | null;
  pending_order: string | null;
  expires_at: Date;
  expired: boolean;
  items: { sku: string; product_id: string; name: string; quantity: number; unit_price_minor: string | number; currency: string }[];
}

const CART_SELECT = `SELECT c.id, c.owner_sub, c.guest_secret_hash, c.status, c.revision, c.merged_into, c.order_id, c.pending_order, c.expires_at, c.expires_at <= now() AS expired,
         COALESCE((SELECT json_agg(json_build_object('sku', i.sku, 'product_id', i.product_id, 'name', i.name, 'quantity', i.quantity,
                                                     'unit_price_minor', i.unit_price_minor, 'currency', i.currency) ORDER BY i.added_at, i.sku)
                   FROM cart_items i WHERE i.cart_id = c.id), '[]') AS items
    FROM carts c`;

function toCart(r: CartRow): Cart & { guestSecretHash: Buffer | null } {
  return {
    id: r.id,
    ownerSub: r.owner_sub,
    guestSecretHash: r.guest_secret_hash,
    status: r.status,
    revision: r.revision,
    mergedInto: r.merged_into,
    orderId: r.order_id,
    pendingOrder: r.pending_order,
    expiresAt: r.expires_at.toISOString(),
    expired: r.expired,
    items: r.items.map((i) => ({ sku: i.sku, productId: i.product_id, name: i.name, quantity: i.quantity, unitPrice: { amount: Number(i.unit_price_minor), currency: i.currency.trim() } })),
  };
}

export type StoredCart = ReturnType<typeof toCart>;

/** The cart by id; `lock` takes the row (FOR UPDATE) for the rest of the caller's transaction. */
export async function findCart(db: Queryable, id: string, lock = false): Promise<StoredCart | undefined> {
  if (lock) await db.query({ name: 'catalog.lock_cart', text: 'SELECT 1 FROM carts WHERE id = $1 FOR UPDATE', values: [id] });
  const { rows } = await db.query<CartRow>({ name: 'catalog.find_cart', text: `${CART_SELECT} WHERE c.id = $1`, values: [id] });
  return rows[0] && toCart(rows[0]);
}

/** The user's open cart that has not expired. */
export async function findOpenUserCart(db: Queryable, ownerSub: string): Promise<StoredCart | undefined> {
  const { rows } = await db.query<CartRow>({ name: 'catalog.find_user_cart', text: `${CART_SELECT} WHERE c.owner_sub = $1 AND c.status = 'open'`, values: [ownerSub] });
  return rows[0] && toCart(rows[0]);
}

export async function insertCart(db: Queryable, cart: { id: string; ownerSub: string | null; guestSecretHash: Buffer | null; ttlSeconds: number }): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'catalog.insert_cart',
    text: `INSERT INTO carts (id, owner_sub, guest_secret_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))
           ON CONFLICT (tenant_id, owner_sub) WHERE status = 'open' AND owner_sub IS NOT NULL DO NOTHING`,
    values: [cart.id, cart.ownerSub, cart.guestSecretHash, cart.ttlSeconds],
  });
  return rowCount === 1;
}

/** Counts a write and pushes the expiry out by the TTL from now (every write to an open cart). */
export async function touchCart(db: Queryable, id: string, ttlSeconds: number): Promise<void> {
  await db.query({
    name: 'catalog.touch_cart',
    text: 'UPDATE carts SET revision = revision + 1, expires_at = now() + make_interval(secs => $2), updated_at = now() WHERE id = $1',
    values: [id, ttlSeconds],
  });
}

/** An expired open cart is emptied and starts a new life (a user's one open cart is reused, not duplicated). */
export async function clearCart(db: Queryable, id: string): Promise<void> {
  await db.query({ name: 'catalog.clear_cart', text: 'DELETE FROM cart_items WHERE cart_id = $1', values: [id] });
}

export async function upsertLine(db: Queryable, cartId: string, line: CartLine): Promise<void> {
  await db.query({
    name: 'catalog.upsert_cart_line',
    text: `INSERT INTO cart_items (cart_id, sku, product_id, name, quantity, unit_price_minor, currency) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (tenant_id, cart_id, sku) DO UPDATE SET product_id = EXCLUDED.product_id, name = EXCLUDED.name, quantity = EXCLUDED.quantity,
             unit_price_minor = EXCLUDED.unit_price_minor, currency = EXCLUDED.currency`,
    values: [cartId, line.sku, line.productId, line.name, line.quantity, line.unitPrice.amount, line.unitPrice.currency],
  });
}

export async function deleteLine(db: Queryable, cartId: string, sku: string): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'catalog.delete_cart_line', text: 'DELETE FROM cart_items WHERE cart_id = $1 AND sku = $2', values: [cartId, sku] });
  return rowCount === 1;
}

export async function markMerged(db: Queryable, id: string, into: string): Promise<void> {
  await db.query({ name: 'catalog.merge_cart', text: "UPDATE carts SET status = 'merged', merged_into = $2, updated_at = now() WHERE id = $1", values: [id, into] });
}

export async function markCheckedOut(db: Queryable, id: string, orderId: string): Promise<void> {
  await db.query({ name: 'catalog.checkout_cart', text: "UPDATE carts SET status = 'checked_out', order_id = $2, pending_order = NULL, updated_at = now() WHERE id = $1", values: [id, orderId] });
}

/** Marks (or, with null, clears) the order a checkout in progress makes. */
export async function setPendingOrder(db: Queryable, id: string, orderId: string | null): Promise<void> {
  await db.query({ name: 'catalog.pending_order', text: 'UPDATE carts SET pending_order = $2, updated_at = now() WHERE id = $1', values: [id, orderId] });
}

export interface CurrentVariant {
  sku: string;
  productId: string;
  name: string;
  price: { amount: number; currency: string };
}

/** Today's variants (product id, name, price) of the SKUs given that still exist. */
export async function currentVariants(db: Queryable, skus: readonly string[]): Promise<Map<string, CurrentVariant>> {
  if (skus.length === 0) return new Map();
  const { rows } = await db.query<{ sku: string; product_id: string; name: string; price_minor: string | number; currency: string }>({
    name: 'catalog.current_variants',
    text: 'SELECT v.sku, v.product_id, p.name, v.price_minor, v.currency FROM variants v JOIN products p ON p.id = v.product_id WHERE v.sku = ANY($1::text[])',
    values: [skus],
  });
  return new Map(rows.map((r) => [r.sku, { sku: r.sku, productId: r.product_id, name: r.name, price: { amount: Number(r.price_minor), currency: r.currency.trim() } }]));
}

/** Deletes open carts expired more than `graceSeconds` ago (every tenant: the caller is the audited sweeper); returns how many. */
export async function deleteExpiredCarts(db: Queryable, limit: number, graceSeconds: number): Promise<number> {
  const { rowCount } = await db.query({
    name: 'catalog.delete_expired_carts',
    text: `DELETE FROM carts WHERE (tenant_id, id) IN (
             SELECT tenant_id, id FROM carts WHERE status = 'open' AND expires_at <= now() - make_interval(secs => $2)
              ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)`,
    values: [limit, graceSeconds],
  });
  return rowCount ?? 0;
}
