/**
 * The order repository on the event store (the domain's OrderRepository
 * port): rehydrate from the latest snapshot plus the events after it; append
 * new events at the version the decision was based on; take a snapshot every
 * `snapshotEvery` events.
 */
import type { DbLogger, Queryable } from '@bulwark/db';
import type { OrderEvent } from '../domain/events.ts';
import { evolve, ORDER_SNAPSHOT_SCHEMA, ORDER_STREAM_TYPE, type OrderState } from '../domain/order.ts';
import type { OrderRepository } from '../domain/order-repository.ts';
import { ordersError } from '../errors.ts';
import { appendToStream, loadStream, saveSnapshot } from './event-store.ts';

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
