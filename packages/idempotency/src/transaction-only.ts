/**
 * createTransactionOnly: the same request transaction as createIdempotency
 * (`requestTransaction().tx`, committed before the client sees a success,
 * rolled back on a failure unless the handler keeps its writes) WITHOUT the
 * key store: no lock, no stored response, no replay. It exists so a
 * benchmark can switch the idempotency layer off and measure what it costs
 * (`IDEMPOTENCY_ENABLED=false` in the services); a production deployment
 * never runs it, because a retried request would then run twice.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { DbClient, DbPool } from '@bulwark/db';
import { idempotencyError } from './errors.ts';
import { holdResponse, UNSAFE_METHODS, writeProblem } from './hold-response.ts';
import { outcomeOf } from './state-machine.ts';
import type { IdempotencyLocals } from './idempotency.ts';
import { runInRequestTransaction } from './request-transaction.ts';

export function createTransactionOnly(options: { pool: DbPool; onError?: (err: unknown, stage: string) => void }): RequestHandler {
  const { pool } = options;

  const fail = (res: Response, req: Request, cause: unknown): void =>
    writeProblem(res, idempotencyError('IDEMPOTENCY_STORE_FAILED', 'The database is unavailable; nothing was committed.', { retryAfterSeconds: 1, cause }), req.originalUrl);

  async function middleware(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (!UNSAFE_METHODS.has(req.method)) return next();
    let opened: DbClient | undefined;
    try {
      opened = await pool.connect();
      await opened.query('BEGIN');
    } catch (err) {
      options.onError?.(err, 'begin');
      opened?.release(true);
      return fail(res, req, err);
    }
    const client = opened;
    let keepWrites = false;
    const locals: IdempotencyLocals = {
      key: req.get('idempotency-key') ?? '',
      tx: client,
      attempt: 1,
      recovered: false,
      keepWritesOnFailure() {
        keepWrites = true;
      },
    };
    holdResponse(
      res,
      async () => {
        const outcome = outcomeOf(res.statusCode);
        try {
          await client.query(outcome === 'completed' || (outcome === 'failed_final' && keepWrites) ? 'COMMIT' : 'ROLLBACK');
          client.release();
          return true;
        } catch (err) {
          options.onError?.(err, 'settle');
          client.release(err instanceof Error ? err : true);
          return outcome === 'failed_retryable';
        }
      },
      () => fail(res, req, undefined),
    );
    runInRequestTransaction(locals, next);
  }

  return (req, res, next) => {
    middleware(req, res, next).catch(next);
  };
}
