/**
 * The request's Idempotency-Key and where its writes go: the transaction
 * @bulwark/idempotency opened for it (`requestTransaction()`), so the
 * stored response and the payment rows commit together.
 */
import type { Request } from 'express';
import { currentDbContext, type DbPool } from '@bulwark/db';
import { requestTransaction } from '@bulwark/idempotency';
import type { TxSource } from '../domain/transaction.ts';
import { paymentsError } from '../errors.ts';

const KEY = /^[\x21-\x7e]{1,255}$/;

/** The key the idempotency middleware accepted, or (without it) the header checked here. */
export function requireKey(req: Request): string {
  const locals = requestTransaction();
  if (locals?.key) return locals.key; // empty under the benchmark's transaction-only baseline: check the header
  const key = req.get('idempotency-key');
  if (key === undefined || !KEY.test(key)) {
    throw paymentsError('PAYMENTS_IDEMPOTENCY_KEY_REQUIRED', 'send an Idempotency-Key header of 1–255 visible ASCII characters');
  }
  return key;
}

/** The tenant the request runs as (service-kit's requestScope), if any. */
export function requestTenant(): string | undefined {
  const context = currentDbContext();
  return context?.kind === 'tenant' ? context.tenant : undefined;
}

/** The middleware's transaction when it ran (always, on routes that mount it); else the use case opens its own. */
export function txSourceOf(pool: DbPool): TxSource {
  const locals = requestTransaction();
  return locals ? { pool, tx: locals.tx, keepWritesOnFailure: () => locals.keepWritesOnFailure() } : { pool };
}
