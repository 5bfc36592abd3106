/**
 * Transactions with retry of the failures PostgreSQL asks callers to retry:
 * serialization failures (40001) and deadlocks (40P01). The whole callback is
 * re-run on a fresh connection after a bounded, jittered exponential backoff,
 * so it must be safe to repeat (no side effects outside the transaction).
 * Any other error rolls back and is rethrown as is.
 */
import { backoffDelay } from '@bulwark/service-kit/backoff';
import { TransactionConflictError, sqlStateOf } from './errors.ts';
import { poolInternals, type DbClient, type DbPool } from './pool.ts';

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

const ISOLATION_SQL: Record<IsolationLevel, string> = {
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
};

/** SQLSTATEs after which re-running the transaction can succeed. */
export const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(['40001', '40P01']);

export interface RetryInfo {
  /** 1 for the first retry. */
  retry: number;
  sqlState: string;
  delayMs: number;
}

export interface TransactionOptions {
  /** Default 'read committed'. */
  isolation?: IsolationLevel;
  readOnly?: boolean;
  /** Retries after the first attempt; default 5. */
  maxRetries?: number;
  /** Backoff base; default 10 ms. */
  baseDelayMs?: number;
  /** Backoff ceiling; default 500 ms. */
  maxDelayMs?: number;
  /** Called before each retry (metrics and logs are recorded already). */
  onRetry?: (info: RetryInfo) => void;
}

function retryableState(err: unknown): string | undefined {
  const state = sqlStateOf(err) ?? sqlStateOf((err as { cause?: unknown } | null)?.cause);
  return state !== undefined && RETRYABLE_SQLSTATES.has(state) ? state : undefined;
}

/**
 * Runs `fn` inside BEGIN … COMMIT and returns its result. `attempt` starts at
 * 0 and counts re-runs. After `maxRetries` retries the last conflict is
 * thrown as TransactionConflictError (503, Retry-After).
 */
export async function withTransaction<T>(
  pool: DbPool,
  fn: (client: DbClient, attempt: number) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const { log, metrics, name } = poolInternals(pool);
  const isolation = ISOLATION_SQL[options.isolation ?? 'read committed'];
  if (isolation === undefined) throw new Error(`unknown isolation level ${String(options.isolation)}`);
  const begin = `BEGIN ISOLATION LEVEL ${isolation}${options.readOnly ? ' READ ONLY' : ''}`;
  const maxRetries = options.maxRetries ?? 5;
  // Equal jitter: half the window is always waited, the other half keeps conflicting transactions out of lockstep.
  const backoff = { baseMs: options.baseDelayMs ?? 10, capMs: options.maxDelayMs ?? 500, jitter: 'equal' } as const;

  for (let attempt = 0; ; attempt++) {
    const client = await pool.connect();
    let failure: unknown;
    let broken: Error | undefined;
    try {
      await client.query({ name: 'tx.begin', text: begin });
      const result = await fn(client, attempt);
      await client.query({ name: 'tx.commit', text: 'COMMIT' });
      return result;
    } catch (err) {
      failure = err;
      try {
        await client.query({ name: 'tx.rollback', text: 'ROLLBACK' });
      } catch (rollbackErr) {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
    } finally {
      client.release(broken);
    }

    const sqlState = retryableState(failure);
    if (sqlState === undefined) throw failure;
    if (attempt >= maxRetries) throw new TransactionConflictError(attempt + 1, failure);
    const delayMs = backoffDelay(attempt + 1, backoff);
    metrics.txRetries.inc({ pool: name, sqlstate: sqlState });
    log.debug({ pool: name, sqlState, retry: attempt + 1, delayMs }, 'retrying transaction');
    options.onRetry?.({ retry: attempt + 1, sqlState, delayMs });
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}
