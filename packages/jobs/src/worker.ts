/**
 * The consumer side: `JobWorker` runs one BullMQ Worker per partition of a
 * definition (a provider partition carries that provider's limiter), wraps the
 * handler to record attempt history and metrics, moves final failures to the
 * dead-letter queue, and stops within a deadline: in-flight jobs finish, or
 * are handed back to wait when the deadline passes — never left active.
 */
import { DelayedError, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { FULL_JITTER, fullJitterDelay } from './backoff.ts';
import { deadLetterQueueName, partitions, resolveDefinition, type QueueDefinition, type ResolvedDefinition } from './definition.ts';
import { classifyFailure, moveToDeadLetter, recordAttempt, type DeadLetter, type DeadLetterTarget } from './dead-letter.ts';
import { configInvalid } from './errors.ts';
import type { JobMetrics } from './metrics.ts';
import { DEFAULT_PREFIX } from './queue.ts';

/** What a handler sees of its job. */
export interface JobContext<T> {
  id: string;
  name: string;
  data: T;
  provider: string | undefined;
  /** 1-based attempt number: attempts consumed so far + 1 (stalls, hand-backs and holds consume none). */
  attempt: number;
  /** Aborted when the job is cancelled or handed back at shutdown; stop work and throw. */
  signal: AbortSignal;
  /** Appends a line to the job's log (kept in Redis with the job). */
  log(message: string): Promise<void>;
  /**
   * Puts the job back to delayed until `timestampMs` without consuming an
   * attempt or growing its backoff (the cause is outside the job: a breaker
   * held it). Always throws: return what it throws (`throw await job.holdUntil(t)`
   * reads best) and do nothing after it.
   */
  holdUntil(timestampMs: number): Promise<never>;
}

/** Returns the job's result; throws to fail the attempt (NonRetryableError: no more attempts). */
export type JobHandler<T> = (job: JobContext<T>) => Promise<unknown>;

export interface JobWorkerOptions {
  connection: ConnectionOptions;
  prefix?: string;
  metrics?: JobMetrics;
  /** Jobs run in parallel per partition (default 1). */
  concurrency?: number;
  /** Lock time-to-live; a job whose worker stops renewing it is stalled after this (default 30 s). */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (default 30 s). */
  stalledIntervalMs?: number;
  /** Stalls a job may survive before it is failed as poison (default 1). */
  maxStalledCount?: number;
  /** Starts a job may have (first run, retries, stall recoveries) before it is failed as poison (default none). */
  maxStartedAttempts?: number;
  /** Default deadline of `stop()` (default 10 s). */
  shutdownDeadlineMs?: number;
  /** Receives errors that have no caller (Redis hiccups, dead-letter moves that will be retried by the next sweep). */
  onError?: (err: Error) => void;
  /**
   * Told of every job this worker dead-letters (any reason, poison included: a
   * poisoned job never reaches the handler), after the copy into the DLQ and
   * before the job leaves its queue, so the owner can record the outcome
   * (e.g. mark its row dead). At least once: if it throws, the job stays in the
   * failed set and the next `sweepFailed()` (every `start()` and every
   * `sweepIntervalMs`) calls it again.
   */
  onDeadLetter?: (deadLetter: DeadLetter) => Promise<void>;
  /**
   * How often a running worker sweeps its failed sets into the dead-letter
   * queue (default 60 s; 0: only at `start()`). Without it a final failure
   * whose dead-letter move or hook failed (a Redis or database blip) would
   * wait in the failed set for the next process start, and an owner's
   * reconciliation (`ensureJob` reads a failed job as live) would wait with it.
   */
  sweepIntervalMs?: number;
  /** Start consuming at construction (default true). */
  autorun?: boolean;
}

export interface StopResult {
  /** Ids of jobs that were still running at the deadline and were moved back to wait. */
  handedBack: string[];
}

interface InFlight {
  job: Job;
  token: string;
  handBack: AbortController;
}

class HandedBackError extends Error {
  constructor() {
    super('job handed back to wait at worker shutdown');
    this.name = 'HandedBackError';
  }
}

export class JobWorker<T = unknown> {
  readonly definition: ResolvedDefinition;
  readonly #workers: { worker: Worker; queue: Queue; target: DeadLetterTarget }[] = [];
  readonly #deadLetters: Queue;
  readonly #inFlight = new Map<string, InFlight>();
  readonly #handler: JobHandler<T>;
  readonly #metrics: JobMetrics | undefined;
  readonly #onError: (err: Error) => void;
  readonly #deadlineMs: number;
  readonly #sweepIntervalMs: number;
  #sweepTimer: NodeJS.Timeout | undefined;
  #stopping: Promise<StopResult> | undefined;
  /** Dead-letter moves and history writes started by worker events; stop() awaits them before closing. */
  readonly #background = new Set<Promise<void>>();

  constructor(definition: QueueDefinition | ResolvedDefinition, handler: JobHandler<T>, options: JobWorkerOptions) {
    this.definition = resolveDefinition(definition);
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw configInvalid(`worker of "${this.definition.name}": concurrency must be an integer ≥ 1`);
    this.#handler = handler;
    this.#metrics = options.metrics;
    this.#onError = options.onError ?? (() => {});
    this.#deadlineMs = options.shutdownDeadlineMs ?? 10_000;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (!(this.#sweepIntervalMs >= 0)) throw configInvalid(`worker of "${this.definition.name}": sweepIntervalMs must be ≥ 0`);
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    const base = { connection: options.connection, prefix };
    this.#deadLetters = new Queue(deadLetterQueueName(this.definition), base);
    const backoff = this.definition.backoff;
    for (const p of partitions(this.definition)) {
      const worker = new Worker(p.queue, (job: Job, token: string | undefined, signal: AbortSignal | undefined) => this.#process(job, token, signal, p.provider), {
        ...base,
        concurrency,
        autorun: false,
        ...(p.limit ? { limiter: { max: p.limit.max, duration: p.limit.durationMs } } : {}),
        ...(options.lockDurationMs !== undefined ? { lockDuration: options.lockDurationMs } : {}),
        ...(options.stalledIntervalMs !== undefined ? { stalledInterval: options.stalledIntervalMs } : {}),
        maxStalledCount: options.maxStalledCount ?? 1,
        ...(options.maxStartedAttempts !== undefined ? { maxStartedAttempts: options.maxStartedAttempts } : {}),
        settings: {
          backoffStrategy: (attemptsMade: number, type?: string) => (type === FULL_JITTER ? fullJitterDelay(attemptsMade, backoff) : 0),
        },
      });
      const queue = new Queue(p.queue, base);
      const target: DeadLetterTarget = { queue: this.definition.name, provider: p.provider, deadLetters: this.#deadLetters, onDeadLetter: options.onDeadLetter };
      worker.on('error', (err) => this.#onError(err));
      worker.on('failed', (job, err) => {
        if (job) this.#track(this.#afterFailure(job, err, queue, target));
      });
      worker.on('completed', () => this.#metrics?.completed.inc({ queue: p.queue }));
      worker.on('stalled', (jobId) => this.#track(this.#recordStall(queue, jobId)));
      this.#workers.push({ worker, queue, target });
    }
    if (options.autorun ?? true) void this.start().catch((e: unknown) => this.#onError(toError(e)));
  }

  /**
   * Dead-letters jobs left in a failed set (a worker died between a final
   * failure and its dead-letter move), then starts consuming and sweeping
   * every `sweepIntervalMs`.
   */
  async start(): Promise<void> {
    try {
      await this.sweepFailed();
      await this.trimDeadLetters();
    } catch (err) {
      // Consuming matters more than tidying: the next start sweeps again.
      this.#onError(toError(err));
    }
    for (const { worker } of this.#workers) {
      if (!worker.isRunning()) void worker.run().catch((e: unknown) => this.#onError(toError(e)));
    }
    await Promise.all(this.#workers.map(({ worker }) => worker.waitUntilReady()));
    this.#scheduleSweep();
  }

  #scheduleSweep(): void {
    if (this.#sweepIntervalMs === 0 || this.#sweepTimer || this.#stopping) return;
    this.#sweepTimer = setTimeout(() => {
      this.#track(
        this.sweepFailed()
          .then(() => this.trimDeadLetters())
          .then(() => undefined)
          .finally(() => {
            this.#sweepTimer = undefined;
            this.#scheduleSweep();
          }),
      );
    }, this.#sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  /**
   * Deletes dead letters older than the definition's `keepDeadLetters` (by
   * when they were dead-lettered); returns how many. Run with every sweep.
   */
  async trimDeadLetters(): Promise<number> {
    const graceMs = this.definition.keepDeadLetters.ageSeconds * 1000;
    let trimmed = 0;
    for (;;) {
      const removed = await this.#deadLetters.clean(graceMs, 1000, 'wait');
      trimmed += removed.length;
      if (removed.length < 1000) return trimmed;
    }
  }

  /** Moves every job in the partitions' failed sets to the dead-letter queue; returns how many moved. */
  async sweepFailed(): Promise<number> {
    let moved = 0;
    for (const { queue, target } of this.#workers) {
      for (;;) {
        const failed = await queue.getJobs(['failed'], 0, 99);
        if (failed.length === 0) break;
        for (const job of failed) {
          const reason = classifyFailure(job);
          if (await moveToDeadLetter(job, queue, target, reason)) {
            moved++;
            this.#metrics?.deadLettered.inc({ queue: queue.name, reason });
          }
        }
      }
    }
    return moved;
  }

  /**
   * Graceful stop: stops fetching, lets in-flight jobs finish until the
   * deadline, then hands the rest back to wait (their handlers' signals abort)
   * and closes. Safe to call more than once.
   */
  stop(options: { deadlineMs?: number } = {}): Promise<StopResult> {
    this.#stopping ??= this.#stop(options.deadlineMs ?? this.#deadlineMs);
    return this.#stopping;
  }

  async #stop(deadlineMs: number): Promise<StopResult> {
    clearTimeout(this.#sweepTimer);
    const closing = Promise.all(this.#workers.map(({ worker }) => worker.close()));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const handedBack: string[] = [];
    try {
      if ((await Promise.race([closing.then(() => 'closed' as const), deadline])) === 'deadline') {
        for (const [id, entry] of this.#inFlight) {
          try {
            // Removes the lock and puts the job back at the head of wait; the
            // handler's late completion then fails on the missing lock.
            await entry.job.moveToWait(entry.token);
            handedBack.push(id);
          } catch (err) {
            this.#onError(toError(err));
          }
          entry.handBack.abort(new HandedBackError());
        }
        await closing;
      }
    } finally {
      clearTimeout(timer);
    }
    await Promise.all(this.#background);
    await Promise.all(this.#workers.map(({ queue }) => queue.close()));
    await this.#deadLetters.close();
    return { handedBack };
  }

  async #process(job: Job, token: string | undefined, signal: AbortSignal | undefined, provider: string | undefined): Promise<unknown> {
    const id = job.id!;
    const handBack = new AbortController();
    this.#inFlight.set(id, { job, token: token ?? '', handBack });
    const partition = job.queueName;
    // Queue wait of first runs only: BullMQ records no time for when a retry became runnable.
    if (job.attemptsStarted <= 1) {
      const runnableSince = job.timestamp + (job.delay ?? 0);
      this.#metrics?.waiting.observe({ queue: partition }, Math.max(0, (job.processedOn ?? Date.now()) - runnableSince) / 1000);
    }
    const started = performance.now();
    // The handler's signal: BullMQ's (job cancelled) or a hand-back at shutdown. One controller fed by a
    // listener, not AbortSignal.any(), which costs a WeakRef and a FinalizationRegistry entry per job.
    let abort = handBack.signal;
    let unlink: (() => void) | undefined;
    if (signal) {
      if (signal.aborted) abort = signal;
      else {
        const both = new AbortController();
        const forward = (): void => both.abort(signal.aborted ? signal.reason : handBack.signal.reason);
        signal.addEventListener('abort', forward, { once: true });
        handBack.signal.addEventListener('abort', forward, { once: true });
        unlink = () => signal.removeEventListener('abort', forward);
        abort = both.signal;
      }
    }
    try {
      const result = await untilAborted(
        this.#handler({
          id,
          name: job.name,
          data: job.data as T,
          provider,
          attempt: job.attemptsMade + 1,
          signal: abort,
          log: async (message) => {
            await job.log(message);
          },
          holdUntil: async (timestampMs) => {
            // BullMQ's moveToDelayed with skipAttempt: attemptsMade (attempts and backoff) stays as it is.
            await job.moveToDelayed(timestampMs, token);
            this.#metrics?.held.inc({ queue: partition });
            throw new DelayedError();
          },
        }),
        handBack.signal,
      );
      this.#metrics?.processing.observe({ queue: partition, outcome: 'completed' }, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      if (handBack.signal.aborted || err instanceof DelayedError) throw err;
      this.#metrics?.processing.observe({ queue: partition, outcome: 'failed' }, (performance.now() - started) / 1000);
      const error = toError(err);
      await recordAttempt(job, { attempt: job.attemptsMade + 1, kind: 'error', error: `${error.name}: ${error.message}`, at: Date.now() }).catch((e: unknown) =>
        this.#onError(toError(e)),
      );
      throw err;
    } finally {
      unlink?.();
      this.#inFlight.delete(id);
    }
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((e: unknown) => this.#onError(toError(e))).finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
  }

  async #afterFailure(job: Job, err: Error, queue: Queue, target: DeadLetterTarget): Promise<void> {
    if (err instanceof HandedBackError) return;
    this.#metrics?.failed.inc({ queue: queue.name });
    const state = await job.getState();
    if (state !== 'failed') {
      this.#metrics?.retried.inc({ queue: queue.name });
      return;
    }
    const reason = classifyFailure(job, err);
    if (await moveToDeadLetter(job, queue, target, reason)) this.#metrics?.deadLettered.inc({ queue: queue.name, reason });
  }

  async #recordStall(queue: Queue, jobId: string): Promise<void> {
    const job = await queue.getJob(jobId);
    if (job) await recordAttempt(job, { attempt: job.attemptsMade + 1, kind: 'stalled', error: 'worker lost the job (crash or lock expiry)', at: Date.now() });
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Settles with `work`, or rejects with the abort reason as soon as `signal` aborts (a handler that ignores its signal cannot hold shutdown). */
function untilAborted<R>(work: Promise<R>, signal: AbortSignal): Promise<R> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<R>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}
