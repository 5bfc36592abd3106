/**
 * The request's business transaction as an ambient value: the middleware
 * (createIdempotency or createTransactionOnly) runs the rest of the request
 * inside it, and a use case several calls below the route joins it with
 * `requestTransaction()` instead of having it handed down through
 * `res.locals`. Outside such a request it is undefined, and the caller opens
 * a transaction of its own.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IdempotencyLocals } from './idempotency.ts';

const current = new AsyncLocalStorage<IdempotencyLocals>();

/** The open transaction (and key) of the request being handled, if its route has the middleware. */
export function requestTransaction(): IdempotencyLocals | undefined {
  return current.getStore();
}

/** Runs `next` (the rest of the request) with `locals` as the request transaction. */
export function runInRequestTransaction(locals: IdempotencyLocals, next: () => void): void {
  current.run(locals, next);
}
