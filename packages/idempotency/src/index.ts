export { createTransactionOnly } from './transaction-only.ts';
export { requestTransaction } from './request-transaction.ts';
export { createIdempotency, REPLAYED_HEADER, type Idempotency, type IdempotencyOptions, type IdempotencyLocals } from './idempotency.ts';
export { canonicalJson, requestFingerprint, parseIdempotencyKey, type ParsedKey } from './fingerprint.ts';
export { decide, outcomeOf, canTransition, isReplayable, type KeyState, type Decision, type StoredKey } from './state-machine.ts';
export { migrateIdempotency, IDEMPOTENCY_MIGRATIONS_DIR } from './store.ts';
export { IDEMPOTENCY_ERROR_CODES, type IdempotencyErrorCode } from './errors.ts';
