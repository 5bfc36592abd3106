/**
 * The producer side: `JobQueue` owns the BullMQ queues of one definition (one
 * per provider partition plus the dead-letter queue) and adds jobs with
 * priority, delay, full-jitter backoff and optional idempotency key.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Queue, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import { FULL_JITTER } from './backoff.ts';
import {
  deadLetterQueueName,
  defaultPartition,
  partitions,
  providerPartition,
  resolveDefinition,
  type QueueDefinition,
  type ResolvedDefinition,
} from './definition.ts';
import { deadLetterId, toDeadLetter, type DeadLetter } from './dead-letter.ts';
import type { JobMetrics } from './metrics.ts';

/** Where BullMQ keeps the queues: a Redis connection and a key prefix. */
export interface JobsConnection {
  /** BullMQ connection options, e.g. `{ url: 'redis://…' }`; BullMQ opens its own clients. */
  connection: ConnectionOptions;
  /** Redis key prefix of every queue (default `bulwark-jobs`). */
  prefix?: string;
  metrics?: JobMetrics;
}

export type Priority = 'critical' | 'high' | 'normal' | 'low';

/**
 * BullMQ priorities (1 = highest). Every job gets one: BullMQ runs jobs
 * without a priority before all prioritized jobs, so a default of "none"
 * would silently outrank `critical`.
 */
export const PRIORITY_VALUES: Record<Priority, number> = { critical: 1, high: 2, normal: 3, low: 4 };

export interface EnqueueOptions {
  priority?: Priority;
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  /**
   * Caller key (e.g. `notification:<uuid>`): the job id is derived from it, so
   * a second enqueue with the same key returns the existing job instead of
   * adding one — while the job exists (until its completed-retention expires).
   */
  idempotencyKey?: string;
  /** Provider whose rate limit applies; must be declared in the definition. */
  provider?: string;
  /** Overrides the definition's attempts for this job. */
  attempts?: number;
}

/**
 * What enqueue did. With an idempotency key whose job was dead-lettered, no
 * job is added (`deadLettered: true`, no live job): replay or purge it first.
 */
export type EnqueueResult<T> =
  | {
      id: string;
      /** False when an idempotency key matched a job that already existed. */
      created: boolean;
      deadLettered: false;
      /** The stored job (for a repeat, the existing job with its original data). */
      job: Job<T>;
    }
  | { id: string; created: false; deadLettered: true; job: undefined };

/**
 * What `ensureJob` found or did: a job that will still run (`live`), a job it
 * added because none would run (`created`: missing, or finished although its
 * owner still needs it), or the key's dead letter, which it leaves alone.
 */
export type EnsureJobResult<T> =
  | { id: string; outcome: 'live' | 'created'; deadLetter: undefined }
  | { id: string; outcome: 'dead-lettered'; deadLetter: DeadLetter<T> };

export const DEFAULT_PREFIX = 'bulwark-jobs';

/** Job id for an idempotency key: hashed, since BullMQ ids may not contain `:` and keys are caller text. */
export function idempotentJobId(key: string): string {
  return `idem-${createHash('sha256').update(key).digest('base64url')}`;
}

export class JobQueue<T = unknown> {
  readonly definition: ResolvedDefinition;
  readonly prefix: string;
  readonly #queues = new Map<string, Queue>();
  readonly #deadLetters: Queue;
  readonly #metrics: JobMetrics | undefined;

  constructor(definition: QueueDefinition | ResolvedDefinition, options: JobsConnection) {
    this.definition = resolveDefinition(definition);
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#metrics = options.metrics;
    const base = { connection: options.connection, prefix: this.prefix };
    for (const p of partitions(this.definition)) {
      const queue = new Queue(p.queue, base);
      this.#queues.set(p.queue, queue);
      this.#metrics?.trackDepth(p.queue, queue);
    }
    this.#deadLetters = new Queue(deadLetterQueueName(this.definition), base);
  }

  /** Adds a job; with an idempotency key, returns the existing job if there is one. */
  async enqueue(name: string, data: T, options: EnqueueOptions = {}): Promise<EnqueueResult<T>> {
    const partition = options.provider === undefined ? defaultPartition(this.definition) : providerPartition(this.definition, options.provider);
    const queue = this.#queues.get(partition)!;
    const opts: JobsOptions = {
      priority: PRIORITY_VALUES[options.priority ?? 'normal'],
      attempts: options.attempts ?? this.definition.attempts,
      backoff: { type: FULL_JITTER },
      // Failed jobs stay until the worker has moved them to the dead-letter queue.
      removeOnFail: false,
      removeOnComplete: { count: this.definition.keepCompleted.count, age: this.definition.keepCompleted.ageSeconds },
    };
    if (options.delayMs !== undefined && options.delayMs > 0) opts.delay = options.delayMs;
    if (options.idempotencyKey === undefined) {
      // Own ids, never BullMQ's counter: BullMQ refuses numeric custom ids, and a
      // replay from the dead-letter queue must re-create the job under its id.
      const job = await queue.add(name, data, { ...opts, jobId: randomUUID() });
      this.#metrics?.enqueued.inc({ queue: partition });
      return { id: job.id!, created: true, deadLettered: false, job };
    }
    const jobId = idempotentJobId(options.idempotencyKey);
    // A dead-lettered job is removed from its queue but keeps its key: adding
    // would run the payload a second time. (A job dead-lettered between this
    // read and the add below slips through; the window is one round trip.)
    if (await this.#deadLetters.getJob(deadLetterId(jobId))) return { id: jobId, created: false, deadLettered: true, job: undefined };
    // BullMQ's add is atomic on jobId: a duplicate returns without touching the
    // stored job, so the stored copy is read back to tell which call created it.
    const timestamp = Date.now();
    const added = await queue.add(name, data, { ...opts, jobId, timestamp });
    const stored = (await queue.getJob(jobId)) as Job<T> | undefined;
    const job = stored ?? added;
    const created = stored === undefined || (stored.timestamp === timestamp && JSON.stringify(stored.data) === JSON.stringify(data));
    if (created) this.#metrics?.enqueued.inc({ queue: partition });
    return { id: jobId, created, deadLettered: false, job };
  }

  /**
   * Reconciliation: makes sure a job will run for `idempotencyKey`, for an
   * owner whose record (a row) still needs the work. A job waiting, delayed,
   * active or failed (about to be dead-lettered) is `live`; a missing or
   * completed one is (re-)created under the same id; a dead-lettered one is
   * returned as is (`dead-lettered`), for the owner to record as dead — adding
   * it again would undo a poison verdict, replay is the way back.
   */
  async ensureJob(name: string, data: T, options: EnqueueOptions & { idempotencyKey: string }): Promise<EnsureJobResult<T>> {
    const jobId = idempotentJobId(options.idempotencyKey);
    const dead = await this.#deadLetters.getJob(deadLetterId(jobId));
    if (dead) return { id: jobId, outcome: 'dead-lettered', deadLetter: toDeadLetter<T>(dead) };
    const partition = options.provider === undefined ? defaultPartition(this.definition) : providerPartition(this.definition, options.provider);
    const existing = await this.#queues.get(partition)!.getJob(jobId);
    const state = existing ? await existing.getState() : 'unknown';
    if (state === 'completed') await existing!.remove();
    else if (state !== 'unknown') return { id: jobId, outcome: 'live', deadLetter: undefined };
    const result = await this.enqueue(name, data, options);
    if (result.deadLettered) return this.ensureJob(name, data, options); // dead-lettered in between: report that
    return { id: jobId, outcome: result.created ? 'created' : 'live', deadLetter: undefined };
  }

  /**
   * Moves the run time of the delayed job of `idempotencyKey` to `delayMs`
   * from now (0: runs now), earlier or later, without touching its attempts.
   * Returns false when no job of that key is delayed (running, waiting, gone).
   */
  async reschedule(idempotencyKey: string, delayMs: number): Promise<boolean> {
    const jobId = idempotentJobId(idempotencyKey);
    for (const queue of this.#queues.values()) {
      const job = await queue.getJob(jobId);
      if (!job) continue;
      try {
        if (delayMs > 0) await job.changeDelay(delayMs);
        else await job.promote();
        return true;
      } catch (err) {
        // -1: gone, -3: not delayed any more (it started meanwhile): nothing to move.
        if ((err as { code?: number }).code === -1 || (err as { code?: number }).code === -3) return false;
        throw err;
      }
    }
    return false;
  }

  /** Number of jobs waiting to run (waiting + prioritized) across partitions. */
  async waitingCount(): Promise<number> {
    let total = 0;
    for (const queue of this.#queues.values()) total += await queue.getJobCountByTypes('waiting', 'prioritized');
    return total;
  }

  /** BullMQ queues of this definition by partition name (for admin functions). */
  get partitionQueues(): ReadonlyMap<string, Queue> {
    return this.#queues;
  }

  get deadLetterQueue(): Queue {
    return this.#deadLetters;
  }

  /** Deletes every key of every queue of this definition (tests and teardown only). */
  async obliterate(): Promise<void> {
    for (const queue of [...this.#queues.values(), this.#deadLetters]) await queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    for (const [name, queue] of this.#queues) this.#metrics?.untrackDepth(name, queue);
    await Promise.all([...this.#queues.values(), this.#deadLetters].map((q) => q.close()));
  }
}
