/**
 * Loads and saves Order aggregates on the event store: rehydrate from the
 * latest snapshot plus the events after it; append new events at the version
 * the decision was based on; take a snapshot every `snapshotEvery` events.
 */
import type { DbLogger, Queryable } from '@bulwark/db';
import { ordersError } from '../errors.ts';
import { appendToStream, loadStream, saveSnapshot } from '../store/event-store.ts';
import type { OrderEvent } from './events.ts';
import { evolve, ORDER_SNAPSHOT_SCHEMA, ORDER_STREAM_TYPE, type OrderState } from './order.ts';

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

export function createOrderRepository(db: Queryable, options: { snapshotEvery: number; log: DbLogger }): OrderRepository {
  return {
    async load(orderId) {
      const { snapshot, events } = await loadStream(db, orderId, ORDER_SNAPSHOT_SCHEMA);
      let state = snapshot?.state as OrderState | undefined;
      let version = snapshot?.version ?? 0;
      for (const event of events) {
        state = evolve(state, orderId, { type: event.type, data: event.data } as OrderEvent);
        version = event.version;
      }
      return { state, version };
    },

    async save(orderId, loaded, events) {
      // Fold first, write after: an event the aggregate refuses (nothing before OrderCreated,
      // no second OrderCreated, no unsafe money) is never appended, whichever use case sent it.
      let state = loaded.state;
      for (const event of events) state = evolve(state, orderId, event);
      if (!state) throw ordersError('ORDERS_NOT_FOUND', `order ${orderId} does not exist`, { orderId });
      const { version } = await appendToStream(db, orderId, ORDER_STREAM_TYPE, loaded.version, events);
      const every = options.snapshotEvery;
      if (every > 0 && Math.floor(version / every) > Math.floor(loaded.version / every)) {
        // After the commit, outside the append: a lost snapshot only costs replay.
        await saveSnapshot(db, orderId, { version, schemaVersion: ORDER_SNAPSHOT_SCHEMA, state }).catch((err: unknown) =>
          options.log.warn({ err, orderId, version }, 'snapshot not saved'),
        );
      }
      return { state, version };
    },
  };
}
