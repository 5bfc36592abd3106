/**
 * The pure rules of a cart: what re-pricing at checkout finds (a price that
 * moved since the snapshot, a variant that is gone), what a guest cart adds
 * to a user's at login, which lines the stock cannot cover. No I/O.
 */
import type { CartLine, CurrentVariant } from '../store/cart-store.ts';

/** Orders' limits (apps/orders/src/domain/order.ts): a cart never holds what an order would refuse. */
export const MAX_CART_LINES = 100;
export const MAX_LINE_QUANTITY = 1_000;

export interface PriceChange {
  sku: string;
  was: { amount: number; currency: string };
  now: { amount: number; currency: string };
}

export interface Repricing {
  /** Lines whose snapshot differs from today's price, with both. */
  changed: PriceChange[];
  /** SKUs no product has any more. */
  unavailable: string[];
  /** The lines at today's prices (unavailable ones dropped). */
  lines: CartLine[];
}

export function repriceLines(lines: readonly CartLine[], current: ReadonlyMap<string, CurrentVariant>): Repricing {
  const changed: PriceChange[] = [];
  const unavailable: string[] = [];
  const repriced: CartLine[] = [];
  for (const line of lines) {
    const now = current.get(line.sku);
    if (!now) {
      unavailable.push(line.sku);
      continue;
    }
    if (now.price.amount !== line.unitPrice.amount || now.price.currency !== line.unitPrice.currency) changed.push({ sku: line.sku, was: line.unitPrice, now: now.price });
    repriced.push({ ...line, productId: now.productId, name: now.name, unitPrice: now.price });
  }
  return { changed, unavailable, lines: repriced };
}

/**
 * A guest cart's lines folded into a user's at login: a SKU in both sums its
 * quantities (capped at MAX_LINE_QUANTITY) and keeps the user's snapshot; a
 * SKU only the guest had comes over with its own snapshot.
 */
export function mergeLines(user: readonly CartLine[], guest: readonly CartLine[]): CartLine[] {
  const out = new Map(user.map((l) => [l.sku, { ...l }]));
  for (const g of guest) {
    const mine = out.get(g.sku);
    if (mine) mine.quantity = Math.min(MAX_LINE_QUANTITY, mine.quantity + g.quantity);
    else out.set(g.sku, { ...g });
  }
  return [...out.values()];
}

export interface Shortage {
  sku: string;
  requested: number;
  available: number;
}

/** Lines asking for more than inventory has available (a SKU inventory does not know has 0). */
export function shortagesOf(lines: readonly { sku: string; quantity: number }[], available: ReadonlyMap<string, number>): Shortage[] {
  return lines.flatMap((l) => {
    const have = available.get(l.sku) ?? 0;
    return l.quantity > have ? [{ sku: l.sku, requested: l.quantity, available: Math.max(0, have) }] : [];
  });
}

/** The one currency of a cart's lines; undefined for an empty cart. Lines in several currencies cannot make one order. */
export function currencyOf(lines: readonly CartLine[]): string | undefined {
  return lines[0]?.unitPrice.currency;
}
