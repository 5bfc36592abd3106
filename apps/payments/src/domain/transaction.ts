/**
 * Where a use case does its writes: in the transaction an idempotency
 * middleware opened for the request (`requestTransaction()`), so the
 * stored response and the business rows commit together, or else in a
 * transaction of its own.
 */
import { withTransaction, type DbClient, type DbPool, type Queryable } from '@bulwark/db';

export interface TxSource {
  pool: DbPool;
  /** A client already inside BEGIN, owned by the caller (it commits or rolls back). */
  tx?: Queryable;
  /**
   * Asks the owner of `tx` to commit even though the answer is a 4xx: a
   * declined payment or a refused operation is recorded, not rolled back.
   */
  keepWritesOnFailure?: () => void;
}

export function inTransaction<T>(source: TxSource, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return source.tx ? fn(source.tx) : withTransaction(source.pool, (client: DbClient) => fn(client));
}
