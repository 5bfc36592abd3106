/**
 * Command use cases: load the order, check the caller's expected version,
 * let the aggregate's rules decide the events, append them at the loaded
 * version. Two writers that loaded the same version race on the append and
 * exactly one wins; the other gets ORDERS_VERSION_CONFLICT (409).
 */
import { randomUUID } from 'node:crypto';
import { ordersError, VersionConflictError } from '../errors.ts';
import type { Address, OrderEvent, OrderItem } from './events.ts';
import { assertCanAddItem, assertCanCancel, assertCanPlace, assertCanRemoveItem, assertCanSetAddress, assertCanShip, totalOf, type OrderState } from './order.ts';
import type { OrderRepository } from './order-repository.ts';

export interface CommandResult {
  order: OrderState;
  version: number;
}

async function execute(orders: OrderRepository, orderId: string, expectedVersion: number | undefined, decide: (state: OrderState) => OrderEvent[]): Promise<CommandResult> {
  const loaded = await orders.load(orderId);
  if (!loaded.state) throw ordersError('ORDERS_NOT_FOUND', `order ${orderId} does not exist`, { orderId });
  if (expectedVersion !== undefined && expectedVersion !== loaded.version) throw new VersionConflictError(orderId, expectedVersion, loaded.version);
  const { state, version } = await orders.save(orderId, loaded, decide(loaded.state));
  return { order: state, version };
}

export async function createOrder(orders: OrderRepository, input: { orderId?: string; customerId: string }): Promise<CommandResult> {
  const orderId = input.orderId ?? randomUUID();
  try {
    const { state, version } = await orders.save(orderId, { state: undefined, version: 0 }, [{ type: 'OrderCreated', data: { customerId: input.customerId } }]);
    return { order: state, version };
  } catch (err) {
    if (err instanceof VersionConflictError) throw ordersError('ORDERS_ALREADY_EXISTS', `order ${orderId} already exists`, { orderId });
    throw err;
  }
}

export function addItem(orders: OrderRepository, orderId: string, item: OrderItem, expectedVersion?: number): Promise<CommandResult> {
  return execute(orders, orderId, expectedVersion, (state) => {
    assertCanAddItem(state, item);
    return [{ type: 'ItemAdded', data: item }];
  });
}

export function removeItem(orders: OrderRepository, orderId: string, sku: string, expectedVersion?: number): Promise<CommandResult> {
  return execute(orders, orderId, expectedVersion, (state) => {
    assertCanRemoveItem(state, sku);
    return [{ type: 'ItemRemoved', data: { sku } }];
  });
}

export function setAddress(orders: OrderRepository, orderId: string, address: Address, expectedVersion?: number): Promise<CommandResult> {
  return execute(orders, orderId, expectedVersion, (state) => {
    assertCanSetAddress(state);
    return [{ type: 'AddressSet', data: { address } }];
  });
}

export function placeOrder(orders: OrderRepository, orderId: string, expectedVersion?: number): Promise<CommandResult> {
  return execute(orders, orderId, expectedVersion, (state) => {
    assertCanPlace(state);
    return [{ type: 'OrderPlaced', data: { totalCents: totalOf(state.items) } }];
  });
}

export function cancelOrder(orders: OrderRepository, orderId: string, reason: string, expectedVersion?: number): Promise<CommandResult> {
  return execute(orders, orderId, expectedVersion, (state) => {
    assertCanCancel(state);
    return [{ type: 'OrderCancelled', data: { reason } }];
  });
}

export function shipOrder(orders: OrderRepository, orderId: string, carrier: string, expectedVersion?: number): Promise<CommandResult> {
  return execute(orders, orderId, expectedVersion, (state) => {
    assertCanShip(state);
    return [{ type: 'OrderShipped', data: { carrier } }];
  });
}
