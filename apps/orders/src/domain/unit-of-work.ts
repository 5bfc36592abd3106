/**
 * A unit of work: the repositories a use case writes through, all in one
 * transaction that the unit owns. The use case says what belongs together;
 * the implementation (store/unit-of-work.ts) decides how: a transaction of
 * its own, or a savepoint inside the request's transaction when the route
 * runs under the Idempotency-Key middleware, so the stored response and the
 * use case's writes commit together.
 */
import type { OrderRepository, SagaRepository } from './order-repository.ts';

export interface UnitOfWorkScope {
  orders: OrderRepository;
  sagas: SagaRepository;
}

export interface UnitOfWork {
  /** Runs `work` atomically: everything it wrote commits, or nothing does (and the error is rethrown). */
  run<T>(work: (scope: UnitOfWorkScope) => Promise<T>): Promise<T>;
}
