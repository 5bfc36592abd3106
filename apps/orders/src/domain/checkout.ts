/**
 * Use case "checkout": place the order and create its saga in ONE unit of
 * work (OrderPlaced on the stream + the checkout saga), so there is never a
 * placed order without a saga or a saga without a placed order. Retrying a
 * checkout whose saga exists answers that saga (safe to retry after a lost
 * response); two concurrent checkouts of one order race on the stream append
 * and the loser answers the winner's saga.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '@bulwark/errors';
import { ordersError, VersionConflictError } from '../errors.ts';
import { newSaga, type SagaState } from '../saga/checkout-saga.ts';
import { assertCanPlace, totalOf } from './order.ts';
import type { UnitOfWork } from './unit-of-work.ts';

export interface CheckoutSettings {
  currency: string;
  deadlineMs: number;
}

export interface CheckoutResult {
  saga: SagaState;
  /** False when the order already had a saga (a retried checkout, or a concurrent one that won). */
  created: boolean;
}

/** Places `orderId` and starts its checkout saga; an order that already has a saga answers it. */
export async function checkout(uow: UnitOfWork, orderId: string, settings: CheckoutSettings, expectedVersion?: number): Promise<CheckoutResult> {
  try {
    return await uow.run(async ({ orders, sagas }) => {
      const existing = await sagas.findByOrder(orderId);
      if (existing) return { saga: existing, created: false };
      const loaded = await orders.load(orderId);
      if (!loaded.state) throw ordersError('ORDERS_NOT_FOUND', `order ${orderId} does not exist`, { orderId });
      if (expectedVersion !== undefined && expectedVersion !== loaded.version) throw new VersionConflictError(orderId, expectedVersion, loaded.version);
      assertCanPlace(loaded.state);
      const totalCents = totalOf(loaded.state.items);
      await orders.save(orderId, loaded, [{ type: 'OrderPlaced', data: { totalCents } }]);
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
      const inserted = await sagas.insert(saga);
      return { saga: inserted.state, created: inserted.created };
    });
  } catch (err) {
    // A concurrent checkout of the same order won (we lost the append, or loaded the order already placed): answer its saga.
    const lostRace = err instanceof VersionConflictError || (err instanceof AppError && err.code === 'ORDERS_INVALID_STATE');
    if (lostRace && expectedVersion === undefined) {
      const winner = await uow.run(({ sagas }) => sagas.findByOrder(orderId));
      if (winner) return { saga: winner, created: false };
    }
    throw err;
  }
}
