/**
 * The unit of work on PostgreSQL (domain/unit-of-work.ts). Inside a request
 * whose route has the Idempotency-Key middleware, the work joins that
 * request's transaction (requestTransaction()) under a savepoint, so a
 * failed unit leaves the request's transaction usable (a lost race can still
 * answer 200 from it) and a successful one commits with the stored response.
 * Anywhere else it opens a transaction of its own.
 */
import { withTransaction, type DbClient, type DbLogger, type DbPool } from '@bulwark/db';
import { requestTransaction } from '@bulwark/idempotency';
import type { UnitOfWork, UnitOfWorkScope } from '../domain/unit-of-work.ts';
import { createOrderRepository } from './order-repository.ts';
import { findSagaByOrder, insertSaga } from './saga-store.ts';

export function createUnitOfWork(pool: DbPool, options: { snapshotEvery: number; log: DbLogger }): UnitOfWork {
  const scopeOf = (client: DbClient): UnitOfWorkScope => ({
    orders: createOrderRepository(client, options),
    sagas: {
      findByOrder: async (orderId) => (await findSagaByOrder(client, orderId))?.state,
      insert: (saga) => insertSaga(client, saga),
    },
  });
  return {
    async run(work) {
      const tx = requestTransaction()?.tx;
      if (!tx) return withTransaction(pool, (client) => work(scopeOf(client)));
      await tx.query('SAVEPOINT unit_of_work');
      try {
        const result = await work(scopeOf(tx));
        await tx.query('RELEASE SAVEPOINT unit_of_work');
        return result;
      } catch (err) {
        await tx.query('ROLLBACK TO SAVEPOINT unit_of_work');
        throw err;
      }
    },
  };
}
