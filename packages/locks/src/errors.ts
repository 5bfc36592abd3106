/**
 * Error codes of @bulwark/locks, registered once at import. Codes are never
 * reused.
 */
import { AppError, registerErrorCodes } from '@bulwark/errors';

export const LOCK_NOT_ACQUIRED = 'LOCK_NOT_ACQUIRED';
export const LOCK_LOST = 'LOCK_LOST';
export const LOCK_CONFIG_INVALID = 'LOCK_CONFIG_INVALID';

registerErrorCodes([
  {
    code: LOCK_NOT_ACQUIRED,
    status: 503,
    title: 'Lock not acquired',
    description: 'Another holder kept the lock for the whole wait (or too few Redis instances answered); retry later.',
  },
  {
    code: LOCK_LOST,
    status: 503,
    title: 'Lock lost',
    description: 'A lease expired or could not be extended on a majority; the holder must stop, its fencing token is stale.',
  },
  {
    code: LOCK_CONFIG_INVALID,
    status: 500,
    title: 'Invalid lock configuration',
    description: 'A lock option is out of range (lease, wait, instance count, name); fix the configuration.',
  },
]);

export class LockNotAcquiredError extends AppError {
  constructor(name: string, detail: string, cause?: unknown) {
    super(LOCK_NOT_ACQUIRED, `lock ${name} not acquired: ${detail}`, { status: 503, retryAfterSeconds: 1, extensions: { lock: name }, cause });
    this.name = 'LockNotAcquiredError';
  }
}

export class LockLostError extends AppError {
  constructor(name: string, detail: string, cause?: unknown) {
    super(LOCK_LOST, `lock ${name} lost: ${detail}`, { status: 503, extensions: { lock: name }, cause });
    this.name = 'LockLostError';
  }
}

export class LockConfigError extends AppError {
  constructor(message: string) {
    super(LOCK_CONFIG_INVALID, message, { status: 500 });
    this.name = 'LockConfigError';
  }
}
