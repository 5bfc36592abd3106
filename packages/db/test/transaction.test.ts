import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { TransactionConflictError, withTransaction, type RetryInfo } from '../src/index.ts';
import { createSchema, metricValue, testPool, type TestPool } from './support.ts';

let schema: { schema: string; drop(): Promise<void> };
let pool: TestPool;

beforeEach(async () => {
  schema = await createSchema();
  pool = testPool({ searchPath: [schema.schema], max: 4 });
  await pool.query('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)');
  await pool.query('INSERT INTO counters VALUES (1, 0), (2, 0)');
});

afterEach(async () => {
  await pool.close();
  await schema.drop();
});

/** Resolves once `parties` callers have arrived. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived === parties) open();
    return opened;
  };
}

async function counter(id: number): Promise<number> {
  const { rows } = await pool.query<{ n: number }>({ text: 'SELECT n FROM counters WHERE id = $1', values: [id] });
  return rows[0]!.n;
}

describe('withTransaction', () => {
  it('when two SERIALIZABLE transactions conflict, then the loser is retried and both increments land', async () => {
    const bothRead = barrier(2);
    const retries: RetryInfo[] = [];
    const increment = () =>
      withTransaction(
        pool,
        async (client, attempt) => {
          const { rows } = await client.query<{ n: number }>('SELECT n FROM counters WHERE id = 1');
          if (attempt === 0) await bothRead();
          await client.query({ text: 'UPDATE counters SET n = $1 WHERE id = 1', values: [rows[0]!.n + 1] });
          return attempt;
        },
        { isolation: 'serializable', onRetry: (info) => retries.push(info) },
      );

    const attempts = await Promise.all([increment(), increment()]);

    expect(attempts.sort()).toEqual([0, 1]);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ retry: 1, sqlState: '40001' });
    expect(await counter(1)).toBe(2);
    expect(await metricValue(pool.registry, 'db_tx_retries_total', { sqlstate: '40001' })).toBe(1);
  });

  it('when two transactions deadlock, then the victim is retried and both complete', async () => {
    const bothLocked = barrier(2);
    const retries: RetryInfo[] = [];
    const swap = (first: number, second: number) =>
      withTransaction(
        pool,
        async (client, attempt) => {
          await client.query({ text: 'UPDATE counters SET n = n + 1 WHERE id = $1', values: [first] });
          if (attempt === 0) await bothLocked();
          await client.query({ text: 'UPDATE counters SET n = n + 1 WHERE id = $1', values: [second] });
        },
        { onRetry: (info) => retries.push(info) },
      );

    await Promise.all([swap(1, 2), swap(2, 1)]);

    expect(retries.map((r) => r.sqlState)).toEqual(['40P01']);
    expect(await counter(1)).toBe(2);
    expect(await counter(2)).toBe(2);
  });

  it('when conflicts outlast maxRetries, then a 503 TransactionConflictError is thrown and nothing of the loser is kept', async () => {
    const bothRead = barrier(2);
    const increment = () =>
      withTransaction(
        pool,
        async (client) => {
          const { rows } = await client.query<{ n: number }>('SELECT n FROM counters WHERE id = 1');
          await bothRead();
          await client.query({ text: 'UPDATE counters SET n = $1 WHERE id = 1', values: [rows[0]!.n + 1] });
        },
        { isolation: 'repeatable read', maxRetries: 0 },
      );

    const outcomes = await Promise.allSettled([increment(), increment()]);

    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected).toHaveLength(1);
    const reason = (rejected[0] as PromiseRejectedResult).reason as unknown;
    expect(reason).toBeInstanceOf(TransactionConflictError);
    expect(reason).toMatchObject({ status: 503, attempts: 1, cause: { code: '40001' } });
    expect(await counter(1)).toBe(1);
  });

  it('when the callback throws any other error, then the transaction rolls back and the error is rethrown without retry', async () => {
    const retries: RetryInfo[] = [];
    const boom = new Error('boom');
    await expect(
      withTransaction(
        pool,
        async (client) => {
          await client.query('UPDATE counters SET n = 99 WHERE id = 1');
          throw boom;
        },
        { onRetry: (info) => retries.push(info) },
      ),
    ).rejects.toBe(boom);
    expect(retries).toHaveLength(0);
    expect(await counter(1)).toBe(0);
    expect(pool.stats().total - pool.stats().idle).toBe(0);
  });
});
