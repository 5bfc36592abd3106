/**
 * What the middleware adds to a route's OpenAPI operation: the
 * Idempotency-Key header, the `Idempotent-Replayed` response header and the
 * errors it answers itself. Attached to the middleware under
 * `Symbol.for('bulwark.openapi-contract')`, which @bulwark/service-kit reads
 * (its `OPENAPI_CONTRACT`), so this package does not depend on the kit.
 */
import type { IdempotencyErrorCode } from './errors.ts';

const OPENAPI_CONTRACT = Symbol.for('bulwark.openapi-contract');

export interface IdempotencyContract {
  headers: { name: string; required: boolean; description: string; schema: Record<string, unknown> }[];
  errors: IdempotencyErrorCode[];
  responseHeaders: Record<string, { description: string; schema: Record<string, unknown> }>;
}

export function idempotencyContract(required: boolean): IdempotencyContract {
  const errors: IdempotencyErrorCode[] = ['IDEMPOTENCY_KEY_INVALID', 'IDEMPOTENCY_KEY_IN_FLIGHT', 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_STORE_FAILED'];
  if (required) errors.unshift('IDEMPOTENCY_KEY_MISSING');
  return {
    headers: [
      {
        name: 'Idempotency-Key',
        required,
        description: 'A unique key per request (e.g. a UUID), sent again unchanged on retries: a retry gets the stored response instead of running twice. 1-255 visible ASCII characters, bare or as an sf-string ("…").',
        schema: { type: 'string', minLength: 1, maxLength: 257, pattern: '^[\\x21-\\x7e](?:[\\x20-\\x7e]{0,255}[\\x21-\\x7e])?$' },
      },
    ],
    errors,
    responseHeaders: {
      'Idempotent-Replayed': { description: '`true` when the response is the stored one of an earlier request with the same key.', schema: { type: 'string', enum: ['true'] } },
    },
  };
}

/** Attaches the contract to a middleware function; returns the function. */
export function withContract<F extends object>(handler: F, contract: IdempotencyContract): F {
  Object.defineProperty(handler, OPENAPI_CONTRACT, { value: contract, enumerable: false });
  return handler;
}
