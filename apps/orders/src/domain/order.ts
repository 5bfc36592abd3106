/**
 * The Order aggregate: its state, how each event evolves it (pure, also used
 * to rebuild from snapshots), and the rules each command must pass before it
 * may emit events. Rules raise ORDERS_INVALID_STATE (409: the order's status
 * forbids the command) or ORDERS_RULE_VIOLATED (422: well-formed but breaks a
 * business rule).
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

export function totalOf(items: readonly OrderItem[]): number {
  return items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);
}

/** Applies one event; `state` is undefined before OrderCreated. */
export function evolve(state: OrderState | undefined, orderId: string, event: OrderEvent): OrderState {
  if (event.type === 'OrderCreated') return { orderId, customerId: event.data.customerId, status: 'draft', items: [], address: null, totalCents: 0 };
  if (!state) throw new Error(`order ${orderId}: ${event.type} before OrderCreated`);
  switch (event.type) {
    case 'ItemAdded': {
      const existing = state.items.find((i) => i.sku === event.data.sku);
      const items = existing
        ? state.items.map((i) => (i.sku === event.data.sku ? { ...i, quantity: i.quantity + event.data.quantity, unitPriceCents: event.data.unitPriceCents } : i))
        : [...state.items, event.data];
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

export const MAX_LINES = 100;

function assertStatus(state: OrderState, allowed: readonly OrderStatus[], action: string): void {
  if (!allowed.includes(state.status)) {
    throw ordersError('ORDERS_INVALID_STATE', `cannot ${action} an order that is ${state.status}`, { orderId: state.orderId, status: state.status, allowed });
  }
}

export function assertCanEditItems(state: OrderState): void {
  assertStatus(state, ['draft'], 'change the items of');
}

export function assertCanAddItem(state: OrderState, item: OrderItem): void {
  assertCanEditItems(state);
  if (state.items.length >= MAX_LINES && !state.items.some((i) => i.sku === item.sku)) {
    throw ordersError('ORDERS_RULE_VIOLATED', `an order holds at most ${MAX_LINES} lines`, { rule: 'max-lines', orderId: state.orderId });
  }
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
}

export function assertCanCancel(state: OrderState): void {
  assertStatus(state, ['draft', 'placed'], 'cancel');
}

export function assertCanShip(state: OrderState): void {
  assertStatus(state, ['placed', 'confirmed'], 'ship');
}
