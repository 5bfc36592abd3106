/**
 * Error codes of @bulwark/jobs, registered once at import, and the error a
 * handler throws to skip retries. Codes are never reused.
 */
import { AppError, registerErrorCodes } from '@bulwark/errors';
import { UnrecoverableError } from 'bullmq';

export const JOBS_CONFIG_INVALID = 'JOBS_CONFIG_INVALID';
export const JOBS_PROVIDER_UNKNOWN = 'JOBS_PROVIDER_UNKNOWN';
export const JOBS_DEAD_LETTER_NOT_FOUND = 'JOBS_DEAD_LETTER_NOT_FOUND';
export const JOBS_NON_RETRYABLE = 'JOBS_NON_RETRYABLE';

registerErrorCodes([
  {
    code: JOBS_CONFIG_INVALID,
    status: 500,
    title: 'Invalid job queue configuration',
    description: 'A queue definition or worker option is out of range (name, attempts, backoff, limiter, concurrency); fix the configuration.',
  },
  {
    code: JOBS_PROVIDER_UNKNOWN,
    status: 400,
    title: 'Unknown job provider',
    description: 'An enqueue named a provider the queue definition does not declare; add it to the definition or fix the name.',
  },
  {
    code: JOBS_DEAD_LETTER_NOT_FOUND,
    status: 404,
    title: 'Dead-lettered job not found',
    description: 'No dead-lettered job has that id (already replayed or purged); list the dead-letter queue for current ids.',
  },
  {
    code: JOBS_NON_RETRYABLE,
    status: 500,
    title: 'Non-retryable job failure',
    description: 'A job handler declared its failure permanent; the job went straight to the dead-letter queue, replay it after a fix.',
  },
]);

/**
 * Thrown by a handler when retrying cannot help (bad payload, permanent 4xx
 * from a provider). The job skips its remaining attempts and is dead-lettered
 * with reason `non-retryable`. Extends BullMQ's `UnrecoverableError`, which
 * is what BullMQ checks, so a raw `UnrecoverableError` behaves the same.
 */
export class NonRetryableError extends UnrecoverableError {
  readonly code = JOBS_NON_RETRYABLE;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'NonRetryableError';
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export function configInvalid(message: string): AppError {
  return new AppError(JOBS_CONFIG_INVALID, message, { status: 500 });
}

export function providerUnknown(queue: string, provider: string): AppError {
  return new AppError(JOBS_PROVIDER_UNKNOWN, `queue "${queue}" has no provider "${provider}"`, { status: 400 });
}

export function deadLetterNotFound(queue: string, id: string): AppError {
  return new AppError(JOBS_DEAD_LETTER_NOT_FOUND, `no dead-lettered job "${id}" in queue "${queue}"`, { status: 404 });
}
