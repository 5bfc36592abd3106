/**
 * createTransactionOnly: the same request transaction as createIdempotency
 * (`res.locals.idempotency.tx`, committed before the client sees a success,
 * rolled back on a failure unless the handler keeps its writes) WITHOUT the
 * key store: no lock, no stored response, no replay. It exists so a
 * benchmark can switch the idempotency layer off and measure what it costs
 * (`IDEMPOTENCY_ENABLED=false` in the services); a production deployment
 * never runs it, because a retried request would then run twice.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { PROBLEM_CONTENT_TYPE, toProblem } from '@bulwark/errors';
import type { DbClient, DbPool } from '@bulwark/db';
import { idempotencyError } from './errors.ts';
import { holdResponse } from './hold-response.ts';
import { outcomeOf } from './state-machine.ts';
import type { IdempotencyLocals } from './idempotency.ts';

const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function createTransactionOnly(options: { pool: DbPool; onError?: (err: unknown, stage: string) => void }): RequestHandler {
  const { pool } = options;

  function fail(res: Response, req: Request, cause: unknown): void {
    const problem = toProblem(idempotencyError('IDEMPOTENCY_STORE_FAILED', 'The database is unavailable; nothing was committed.', { retryAfterSeconds: 1, cause }), req.originalUrl);
    res.status(problem.status);
    for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
    res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
    res.end(JSON.stringify(problem.body));
  }

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
    res.locals.idempotency = locals;
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
    next();
  }

  return (req, res, next) => {
    middleware(req, res, next).catch(next);
  };
}
