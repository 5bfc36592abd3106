/**
 * Use case "checkout": place the order and create its saga in ONE
 * transaction (OrderPlaced on the stream + the checkout_sagas row), so there
 * is never a placed order without a saga or a saga without a placed order.
 * Retrying a checkout whose saga exists answers that saga (safe to retry
 * after a lost response); two concurrent checkouts of one order race on the
 * stream append and the loser reads the winner's saga.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction, type DbClient, type DbLogger, type DbPool } from '@bulwark/db';
import { AppError } from '@bulwark/errors';
import type { CommandResult } from '../domain/order-commands.ts';
import { assertCanPlace, totalOf } from '../domain/order.ts';
import { createOrderRepository } from '../domain/order-repository.ts';
import { ordersError, VersionConflictError } from '../errors.ts';
import { newSaga, type SagaState } from './checkout-saga.ts';
import { findSagaByOrder, insertSaga } from './saga-store.ts';

export interface CheckoutSettings {
  currency: string;
  deadlineMs: number;
  snapshotEvery: number;
  log: DbLogger;
}

export interface CheckoutResult {
  saga: SagaState;
  /** False when the order already had a saga (a retried checkout). */
  created: boolean;
  /** The placed order, when this call placed it. */
  placed?: CommandResult;
}

/**
 * Places `orderId` and starts its checkout saga. With `reuseExisting`, an
 * order that already has a saga answers it instead of failing (checkout
 * endpoint); without it, placing twice is ORDERS_INVALID_STATE (place).
 */
export async function startCheckout(
  pool: DbPool,
  orderId: string,
  settings: CheckoutSettings,
  options: { expectedVersion?: number; reuseExisting: boolean; /** An open transaction to write in (the Idempotency-Key middleware's), else one of our own. */ tx?: DbClient },
): Promise<CheckoutResult> {
  const inTransaction = async <T>(fn: (client: DbClient) => Promise<T>): Promise<T> => {
    if (!options.tx) return withTransaction(pool, fn);
    // Inside the caller's transaction: a savepoint keeps it usable when we fail (the lost-race path below answers 200).
    const tx = options.tx;
    await tx.query('SAVEPOINT start_checkout');
    try {
      const result = await fn(tx);
      await tx.query('RELEASE SAVEPOINT start_checkout');
      return result;
    } catch (err) {
      await tx.query('ROLLBACK TO SAVEPOINT start_checkout');
      throw err;
    }
  };
  try {
    return await inTransaction(async (client) => {
      if (options.reuseExisting) {
        const existing = await findSagaByOrder(client, orderId);
        if (existing) return { saga: existing.state, created: false };
      }
      const orders = createOrderRepository(client, { snapshotEvery: settings.snapshotEvery, log: settings.log });
      const loaded = await orders.load(orderId);
      if (!loaded.state) throw ordersError('ORDERS_NOT_FOUND', `order ${orderId} does not exist`, { orderId });
      if (options.expectedVersion !== undefined && options.expectedVersion !== loaded.version) throw new VersionConflictError(orderId, options.expectedVersion, loaded.version);
      assertCanPlace(loaded.state);
      const totalCents = totalOf(loaded.state.items);
      const { state, version } = await orders.save(orderId, loaded, [{ type: 'OrderPlaced', data: { totalCents } }]);
      const saga = newSaga({
        sagaId: randomUUID(),
        orderId,
        customerId: loaded.state.customerId,
        amountCents: totalCents,
        currency: settings.currency,
        items: loaded.state.items.map((i) => ({ sku: i.sku, quantity: i.quantity })),
        now: Date.now(),
        deadlineMs: settings.deadlineMs,
      });
      const inserted = await insertSaga(client, saga);
      return { saga: inserted.state, created: inserted.created, placed: { order: state, version } };
    });
  } catch (err) {
    // A concurrent checkout of the same order won (we lost the append, or loaded the order already placed): answer its saga.
    const lostRace = err instanceof VersionConflictError || (err instanceof AppError && err.code === 'ORDERS_INVALID_STATE');
    if (options.reuseExisting && lostRace && options.expectedVersion === undefined) {
      const existing = await findSagaByOrder(pool, orderId);
      if (existing) return { saga: existing.state, created: false };
    }
    throw err;
  }
}
