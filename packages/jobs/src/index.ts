export { JobQueue, idempotentJobId, PRIORITY_VALUES, DEFAULT_PREFIX, type JobsConnection, type EnqueueOptions, type EnqueueResult, type EnsureJobResult, type Priority } from './queue.ts';
export { JobWorker, type JobContext, type JobHandler, type JobWorkerOptions, type StopResult } from './worker.ts';
export { resolveDefinition, deadLetterQueueName, type QueueDefinition, type ResolvedDefinition, type ProviderLimit } from './definition.ts';
export { fullJitterDelay, backoffCeiling, DEFAULT_BACKOFF, FULL_JITTER, type BackoffPolicy } from './backoff.ts';
export { classifyFailure, type DeadLetter, type DeadLetterRecord, type AttemptRecord, type DeadLetterReason } from './dead-letter.ts';
export {
  getQueueDepth,
  getOldestWaitingAge,
  getFailureReasons,
  listDeadLetters,
  inspectDeadLetter,
  replayDeadLetters,
  purgeDeadLetters,
  type QueueDepth,
  type DepthState,
  type FailureReasonGroup,
  type DeadLetterSelector,
} from './admin.ts';
export { JobMetrics, DEPTH_STATES } from './metrics.ts';
export { NonRetryableError, JOBS_CONFIG_INVALID, JOBS_PROVIDER_UNKNOWN, JOBS_DEAD_LETTER_NOT_FOUND, JOBS_NON_RETRYABLE } from './errors.ts';
export { UnrecoverableError } from 'bullmq';
