/**
 * The domain's ports for persistence: how a use case loads and saves an
 * Order aggregate and a checkout saga, without knowing the store
 * (store/order-repository.ts and store/unit-of-work.ts implement them).
 */
import type { SagaState } from '../saga/checkout-saga.ts';
import type { OrderEvent } from './events.ts';
import type { OrderState } from './order.ts';

export interface LoadedOrder {
  state: OrderState | undefined;
  /** Stream version (0 when the order does not exist). */
  version: number;
}

export interface OrderRepository {
  load(orderId: string): Promise<LoadedOrder>;
  /**
   * Folds `events` onto the loaded state (an event the order cannot take throws
   * and nothing is written), then appends them at the loaded version (throws
   * VersionConflictError) and returns the new state and version.
   */
  save(orderId: string, loaded: LoadedOrder, events: readonly OrderEvent[]): Promise<{ state: OrderState; version: number }>;
}

/** The checkout sagas a use case reads and creates (store/saga-store.ts underneath). */
export interface SagaRepository {
  /** The saga of `orderId`, if the order has one. */
  findByOrder(orderId: string): Promise<SagaState | undefined>;
  /** Creates the saga; `created` false when the order already had one (the existing one is returned). */
  insert(saga: SagaState): Promise<{ state: SagaState; created: boolean }>;
}
