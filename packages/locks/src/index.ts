export { PgLocks, migrateLocks, DEFAULT_LOCK_SCHEMA, type PgLocksOptions, type PgAcquireOptions, type PgLease } from './pg-locks.ts';
export { Redlock, type RedlockOptions, type RedlockAcquireOptions, type RedisLease } from './redlock.ts';
export { advisoryKey } from './lock-key.ts';
export { quorum, validityMs, fenceOf } from './quorum.ts';
export { LockNotAcquiredError, LockLostError, LockConfigError, LOCK_NOT_ACQUIRED, LOCK_LOST, LOCK_CONFIG_INVALID } from './errors.ts';
export { createLockMetrics, type LockMetrics, type LockKind } from './metrics.ts';
