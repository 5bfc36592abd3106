/**
 * The dead-letter queue. BullMQ has none: a job that fails for good stays in
 * its queue's failed set, mixed with whatever retention keeps there. Here a
 * final failure is copied to a separate BullMQ queue (`<name>.dead-letter`,
 * never consumed) as a record with the reason, the attempt history and the
 * original payload and options, then removed from its queue. The dead letter
 * keeps the original job id, so the copy is idempotent (a crash between copy
 * and removal is repaired by the next sweep) and a replay re-creates the job
 * under the same id, which keeps idempotency keys meaningful.
 */
import { UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import type { DeadLetterReason } from './metrics.ts';

export type { DeadLetterReason };

/** One attempt that did not succeed. */
export interface AttemptRecord {
  /** 1-based attempt number (BullMQ's attemptsMade + 1 at the time: a stall is recorded against the attempt it interrupted). */
  attempt: number;
  /** `error`: the handler threw; `stalled`: the worker lost the job (crash, lock expiry). */
  kind: 'error' | 'stalled';
  error: string;
  /** Epoch ms. */
  at: number;
}

/** What the dead-letter queue stores for one job (the DLQ job's data). */
export interface DeadLetterRecord<T = unknown> {
  /** Queue definition name. */
  queue: string;
  /** BullMQ queue the job came from (the provider partition). */
  partition: string;
  /** The job's id in that queue. */
  jobId: string;
  provider: string | undefined;
  reason: DeadLetterReason;
  /** BullMQ's last failure message. */
  failedReason: string;
  attemptsMade: number;
  attempts: AttemptRecord[];
  data: T;
  /** The job's BullMQ options at enqueue (priority, attempts, backoff, delay…). */
  opts: JobsOptions;
  enqueuedAt: number;
  deadLetteredAt: number;
}

/** A dead-lettered job as admin functions return it. */
export interface DeadLetter<T = unknown> extends DeadLetterRecord<T> {
  /** Dead-letter id: the original job id (`n-<id>` if BullMQ had numbered it, as BullMQ refuses numeric custom ids). */
  id: string;
  name: string;
}

const ATTEMPT_LOG = 'bulwark.attempt ';
const POISON = /stalled more than allowable limit|started more than allowable limit/;

/** Appends an attempt to the job's BullMQ log, which lives with the job in Redis and so survives the worker. */
export async function recordAttempt(job: Job, record: AttemptRecord): Promise<void> {
  await job.log(ATTEMPT_LOG + JSON.stringify(record));
}

export async function readAttempts(queue: Queue, jobId: string): Promise<AttemptRecord[]> {
  const { logs } = await queue.getJobLogs(jobId, 0, -1, true);
  return logs.filter((l) => l.startsWith(ATTEMPT_LOG)).map((l) => JSON.parse(l.slice(ATTEMPT_LOG.length)) as AttemptRecord);
}

/**
 * Why a job failed for good: `poison` when BullMQ failed it for stalling or
 * starting too often (it keeps killing or hanging its worker), `exhausted`
 * when it used all attempts, else `non-retryable` (the handler threw
 * `NonRetryableError`/`UnrecoverableError` before its last attempt).
 */
export function classifyFailure(job: Pick<Job, 'failedReason' | 'attemptsMade' | 'opts'>, err?: Error): DeadLetterReason {
  if (POISON.test(job.failedReason ?? '') || (err && POISON.test(err.message))) return 'poison';
  if (err) return err instanceof UnrecoverableError || err.name === 'UnrecoverableError' ? 'non-retryable' : 'exhausted';
  return job.attemptsMade >= (job.opts.attempts ?? 1) ? 'exhausted' : 'non-retryable';
}

export interface DeadLetterTarget {
  queue: string;
  provider: string | undefined;
  deadLetters: Queue;
  /** The owner's hook, called after the copy and before the removal (so a failure repeats with the next sweep). */
  onDeadLetter?: ((deadLetter: DeadLetter) => Promise<void>) | undefined;
}

/**
 * Copies a failed job into the dead-letter queue, then removes it from its
 * queue. Returns false when the job was already gone (another worker won).
 */
export async function moveToDeadLetter(job: Job, source: Queue, target: DeadLetterTarget, reason: DeadLetterReason): Promise<boolean> {
  if (!job.id) return false;
  const attempts = await readAttempts(source, job.id);
  const record: DeadLetterRecord = {
    queue: target.queue,
    partition: source.name,
    jobId: job.id,
    provider: target.provider,
    reason,
    failedReason: job.failedReason ?? '',
    attemptsMade: job.attemptsMade,
    attempts,
    data: job.data as unknown,
    opts: job.opts,
    enqueuedAt: job.timestamp,
    deadLetteredAt: Date.now(),
  };
  const id = deadLetterId(job.id);
  await target.deadLetters.add(job.name, record, { jobId: id, removeOnComplete: true, removeOnFail: true });
  await target.onDeadLetter?.({ ...record, id, name: job.name });
  const removed = await source.remove(job.id);
  return removed === 1;
}

/** Dead-letter id of a job id (JobQueue ids are never numeric; BullMQ's own numbering is). */
export function deadLetterId(jobId: string): string {
  return /^\d+$/.test(jobId) ? `n-${jobId}` : jobId;
}

export function toDeadLetter<T>(job: Job): DeadLetter<T> {
  return { ...(job.data as DeadLetterRecord<T>), id: job.id ?? '', name: job.name };
}
