/**
 * The Order aggregate: its state, how each event evolves it (pure, also used
 * to rebuild from snapshots), and the rules each command must pass before it
 * may emit events. Rules raise ORDERS_INVALID_STATE (409: the order's status
 * forbids the command) or ORDERS_RULE_VIOLATED (422: well-formed but breaks a
 * business rule). `evolve` itself refuses an event the order cannot take (any
 * event before OrderCreated, a second OrderCreated, money past safe integers):
 * the repository folds before it appends, so such an event is never written,
 * and a projection meeting one in the log parks it.
 *
 * Money is integer cents, bounded so that no sum can leave the safe integers:
 * a line is at most MAX_LINE_QUANTITY × MAX_UNIT_PRICE_CENTS = 10^13, an order
 * at most MAX_LINES lines = 10^15 < 2^53 (9.007 × 10^15). The HTTP schema
 * applies the per-field limits; the rules below check them again (a schema
 * may change) and cap the total at what payments accepts in one payment.
 */
import { ordersError } from '../errors.ts';
import type { Address, OrderEvent, OrderItem } from './events.ts';

/** `confirmed` / `checkout_failed` are set by the checkout saga (OrderConfirmed / CheckoutFailed). */
export type OrderStatus = 'draft' | 'placed' | 'confirmed' | 'checkout_failed' | 'cancelled' | 'shipped';

export interface OrderState {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  items: OrderItem[];
  address: Address | null;
  totalCents: number;
}

/** Bump when OrderState's shape changes: older snapshots are then ignored. */
export const ORDER_SNAPSHOT_SCHEMA = 1;
export const ORDER_STREAM_TYPE = 'order';

export const MAX_LINES = 100;
/** Units of one SKU in an order (adding a SKU again adds to its line). */
export const MAX_LINE_QUANTITY = 1_000;
export const MAX_UNIT_PRICE_CENTS = 10_000_000_000;
/**
 * Largest order total: what payments authorizes in one payment (its
 * CreatePaymentBody.amount maximum, 10^10 cents; test/money-bounds.test.ts
 * checks the two agree), so a placed order can always be paid.
 */
export const MAX_ORDER_TOTAL_CENTS = 10_000_000_000;

/** Sum of the lines in cents; refuses a total that is not a safe integer (precision is already lost there). */
export function totalOf(items: readonly OrderItem[]): number {
  let total = 0;
  for (const i of items) total += i.quantity * i.unitPriceCents;
  if (!Number.isSafeInteger(total)) {
    throw ordersError('ORDERS_RULE_VIOLATED', `order total ${total} is not a safe integer amount of cents`, { rule: 'max-total', maxTotalCents: MAX_ORDER_TOTAL_CENTS });
  }
  return total;
}

/** The lines after adding `item`: a SKU already there gets the new quantity added and the new price. */
export function withItem(items: readonly OrderItem[], item: OrderItem): OrderItem[] {
  return items.some((i) => i.sku === item.sku)
    ? items.map((i) => (i.sku === item.sku ? { ...i, quantity: i.quantity + item.quantity, unitPriceCents: item.unitPriceCents } : i))
    : [...items, item];
}

/** Applies one event; `state` is undefined before OrderCreated. Throws (coded) for an event the order cannot take. */
export function evolve(state: OrderState | undefined, orderId: string, event: OrderEvent): OrderState {
  if (event.type === 'OrderCreated') {
    if (state) throw ordersError('ORDERS_ALREADY_EXISTS', `order ${orderId}: OrderCreated on an order that exists`, { orderId });
    return { orderId, customerId: event.data.customerId, status: 'draft', items: [], address: null, totalCents: 0 };
  }
  if (!state) throw ordersError('ORDERS_NOT_FOUND', `order ${orderId}: ${event.type} before OrderCreated`, { orderId, event: event.type });
  switch (event.type) {
    case 'ItemAdded': {
      const items = withItem(state.items, event.data);
      return { ...state, items, totalCents: totalOf(items) };
    }
    case 'ItemRemoved': {
      const items = state.items.filter((i) => i.sku !== event.data.sku);
      return { ...state, items, totalCents: totalOf(items) };
    }
    case 'AddressSet':
      return { ...state, address: event.data.address };
    case 'OrderPlaced':
      return { ...state, status: 'placed' };
    case 'OrderCancelled':
      return { ...state, status: 'cancelled' };
    case 'OrderShipped':
      return { ...state, status: 'shipped' };
    case 'OrderConfirmed':
      return { ...state, status: 'confirmed' };
    case 'CheckoutFailed':
      return { ...state, status: 'checkout_failed' };
    case 'StockReserved':
    case 'PaymentAuthorized':
    case 'PaymentCaptured':
    case 'PaymentVoided':
    case 'StockReleased':
      return state;
  }
}

function assertStatus(state: OrderState, allowed: readonly OrderStatus[], action: string): void {
  if (!allowed.includes(state.status)) {
    throw ordersError('ORDERS_INVALID_STATE', `cannot ${action} an order that is ${state.status}`, { orderId: state.orderId, status: state.status, allowed });
  }
}

export function assertCanEditItems(state: OrderState): void {
  assertStatus(state, ['draft'], 'change the items of');
}

const isCount = (n: number, max: number, min: number): boolean => Number.isSafeInteger(n) && n >= min && n <= max;

/** The order total may not pass MAX_ORDER_TOTAL_CENTS (what one payment can be). */
function assertPayableTotal(state: OrderState, items: readonly OrderItem[]): void {
  const total = totalOf(items);
  if (total > MAX_ORDER_TOTAL_CENTS) {
    throw ordersError('ORDERS_RULE_VIOLATED', `an order total is at most ${MAX_ORDER_TOTAL_CENTS} cents (it would be ${total})`, { rule: 'max-total', orderId: state.orderId, maxTotalCents: MAX_ORDER_TOTAL_CENTS });
  }
}

export function assertCanAddItem(state: OrderState, item: OrderItem): void {
  assertCanEditItems(state);
  if (state.items.length >= MAX_LINES && !state.items.some((i) => i.sku === item.sku)) {
    throw ordersError('ORDERS_RULE_VIOLATED', `an order holds at most ${MAX_LINES} lines`, { rule: 'max-lines', orderId: state.orderId });
  }
  if (!isCount(item.unitPriceCents, MAX_UNIT_PRICE_CENTS, 0)) {
    throw ordersError('ORDERS_RULE_VIOLATED', `a unit price is a whole number of cents from 0 to ${MAX_UNIT_PRICE_CENTS}`, { rule: 'max-unit-price', orderId: state.orderId, sku: item.sku });
  }
  const items = withItem(state.items, item);
  const line = items.find((i) => i.sku === item.sku)!;
  if (!isCount(item.quantity, MAX_LINE_QUANTITY, 1) || !isCount(line.quantity, MAX_LINE_QUANTITY, 1)) {
    throw ordersError('ORDERS_RULE_VIOLATED', `a line holds 1 to ${MAX_LINE_QUANTITY} units (${item.sku} would hold ${line.quantity})`, { rule: 'max-quantity', orderId: state.orderId, sku: item.sku });
  }
  assertPayableTotal(state, items);
}

export function assertCanRemoveItem(state: OrderState, sku: string): void {
  assertCanEditItems(state);
  if (!state.items.some((i) => i.sku === sku)) throw ordersError('ORDERS_RULE_VIOLATED', `the order has no item ${sku}`, { rule: 'item-present', orderId: state.orderId, sku });
}

export function assertCanSetAddress(state: OrderState): void {
  assertStatus(state, ['draft'], 'change the address of');
}

export function assertCanPlace(state: OrderState): void {
  assertStatus(state, ['draft'], 'place');
  if (state.items.length === 0) throw ordersError('ORDERS_RULE_VIOLATED', 'an order needs at least one item to be placed', { rule: 'has-items', orderId: state.orderId });
  if (!state.address) throw ordersError('ORDERS_RULE_VIOLATED', 'an order needs a shipping address to be placed', { rule: 'has-address', orderId: state.orderId });
  // Drafts filled before the total was capped may be past it: they can still be edited or cancelled, not placed.
  assertPayableTotal(state, state.items);
}

export function assertCanCancel(state: OrderState): void {
  assertStatus(state, ['draft', 'placed'], 'cancel');
}

export function assertCanShip(state: OrderState): void {
  assertStatus(state, ['placed', 'confirmed'], 'ship');
}
