/**
 * The runs one leadership term is executing, in memory: HTTP calls in the
 * background, Jobs it waits on, and the runs it finished but whose new phase
 * the informer may not show yet. A new term starts empty and adopts the
 * runs it finds still Running (resumes them): the API server's run objects
 * are the truth, this is only what this process is doing about them.
 *
 * Aborting the term (leadership lost) aborts every HTTP call and leaves its
 * run Running on purpose: the next leader resumes it with the same
 * Idempotency-Key. A run finished here is written back to its object; only
 * if that write fails for good is it forgotten, so that it is resumed
 * (re-sent) rather than wrongly recorded.
 */
import type { FencingToken } from '../leader.ts';
import { describeError, type Logger } from '../log.ts';
import { callTarget, type CronTaskRun, type HttpOutcome, type HttpTarget, type RunPhase, type RunStore } from './crontask-runs.ts';

export interface LiveRun {
  /** `namespace/name` of the run. */
  key: string;
  taskKey: string;
  name: string;
  tick: string;
  target: 'http' | 'job';
  run: CronTaskRun;
  /** When this term started executing it (claimed it, or took it over from an earlier term). */
  since: string;
  abort?: AbortController;
  /** Settles once an HTTP run has ended and been recorded. */
  done?: Promise<void>;
}

export interface FinishedRun {
  taskKey: string;
  phase: RunPhase;
  tick: string;
  finishedAt: string;
}

export interface RunEnd {
  phase: Exclude<RunPhase, 'Running'>;
  httpStatus?: number;
  reason: string;
  message: string;
}

type AbortReason = 'leadership' | 'replaced' | 'deleted';

export interface ExecutorOptions {
  signal: AbortSignal;
  runs: RunStore;
  log: Logger;
  now: () => Date;
  /** Called after a run ended and was recorded (reconcile the task). */
  onFinished(live: LiveRun, end: RunEnd): void;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

export const runKeyOf = (run: CronTaskRun): string => `${run.metadata?.namespace ?? ''}/${run.metadata?.name ?? ''}`;

export class RunExecutor {
  readonly signal: AbortSignal;
  readonly live = new Map<string, LiveRun>();
  readonly finished = new Map<string, FinishedRun>();
  /** Per task, when the last run this term finished ended (outlives `finished`, which the informer catches up with). */
  readonly lastEnded = new Map<string, string>();
  readonly #o: ExecutorOptions;
  /** Per task, the end of its last serial HTTP run: the next one starts after it (Forbid). */
  readonly #chains = new Map<string, Promise<void>>();

  constructor(options: ExecutorOptions) {
    this.#o = options;
    this.signal = options.signal;
  }

  liveOf(taskKey: string): LiveRun[] {
    return [...this.live.values()].filter((l) => l.taskKey === taskKey).sort((a, b) => a.tick.localeCompare(b.tick));
  }

  /**
   * Tracks a run this term executes. An HTTP run calls at once, or with
   * `serial` only after the task's previous serial run has ended (and been
   * recorded): Forbid's runs never overlap, even when a backlog is claimed at once.
   */
  start(taskKey: string, run: CronTaskRun, token: FencingToken, http: HttpTarget | undefined, serial = false): LiveRun {
    const key = runKeyOf(run);
    const live: LiveRun = { key, taskKey, name: run.metadata?.name ?? '', tick: run.spec.tick, target: run.spec.target, run, since: this.#o.now().toISOString() };
    this.live.set(key, live);
    if (run.spec.target === 'http') {
      const abort = new AbortController();
      live.abort = abort;
      const previous = serial ? this.#chains.get(taskKey) : undefined;
      live.done = previous ? previous.then(() => this.#runHttp(live, http, token, abort)) : this.#runHttp(live, http, token, abort);
      if (serial) this.#chains.set(taskKey, live.done);
    }
    return live;
  }

  async #runHttp(live: LiveRun, target: HttpTarget | undefined, token: FencingToken, abort: AbortController): Promise<void> {
    const onTerm = (): void => abort.abort('leadership' satisfies AbortReason);
    if (this.signal.aborted) onTerm();
    else this.signal.addEventListener('abort', onTerm, { once: true });
    let end: RunEnd;
    try {
      if (!target) throw new Error('the task has no HTTP target any more');
      const outcome: HttpOutcome = await callTarget(target, live.run, token, abort.signal, this.#o.sleep ?? abortableSleep);
      end = { ...outcome, reason: outcome.phase === 'Succeeded' ? 'Completed' : 'TargetFailed' };
    } catch (error) {
      const reason = abort.signal.aborted ? (abort.signal.reason as AbortReason) : undefined;
      if (reason === 'leadership' || reason === 'deleted') {
        // Not ours to record: the next leader resumes it (leadership), or it goes with its task (deleted).
        this.live.delete(live.key);
        return;
      }
      end = reason === 'replaced' ? { phase: 'Cancelled', reason: 'Replaced', message: 'replaced by a newer tick (concurrencyPolicy Replace)' } : { phase: 'Failed', reason: 'TargetFailed', message: describeError(error) };
    } finally {
      this.signal.removeEventListener('abort', onTerm);
    }
    await this.finish(live, end);
  }

  /**
   * Records the end of a run on its object, then forgets it as live. A write
   * that keeps failing leaves the run Running for a later resume.
   */
  async finish(live: LiveRun, end: RunEnd): Promise<void> {
    const finishedAt = this.#o.now().toISOString();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#o.runs.patchStatus(live.run, { phase: end.phase, finishedAt, reason: end.reason, message: end.message.slice(0, 1024), httpStatus: end.httpStatus });
        break;
      } catch (error) {
        if (attempt >= 3 || this.signal.aborted) {
          this.#o.log.warn({ run: live.key, err: describeError(error) }, 'could not record the end of a run; it will be resumed');
          this.live.delete(live.key);
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
    this.finished.set(live.key, { taskKey: live.taskKey, phase: end.phase, tick: live.tick, finishedAt });
    this.lastEnded.set(live.taskKey, finishedAt);
    this.live.delete(live.key);
    this.#o.onFinished(live, end);
  }

  /** Cancels a live run (Replace): aborts its call, or deletes its Job, and records it Cancelled. */
  async cancel(live: LiveRun): Promise<void> {
    if (live.target === 'http') {
      live.abort?.abort('replaced' satisfies AbortReason);
      await live.done;
      return;
    }
    await this.#o.runs.deleteJob(live.run.metadata?.namespace ?? '', live.name);
    await this.finish(live, { phase: 'Cancelled', reason: 'Replaced', message: 'replaced by a newer tick (concurrencyPolicy Replace); its Job was deleted' });
  }

  /** Stops the live runs of a task being deleted, without recording anything. */
  abandon(taskKey: string): void {
    for (const live of this.liveOf(taskKey)) {
      live.abort?.abort('deleted' satisfies AbortReason);
      this.live.delete(live.key);
    }
    for (const [key, f] of this.finished) if (f.taskKey === taskKey) this.finished.delete(key);
    this.lastEnded.delete(taskKey);
    this.#chains.delete(taskKey);
  }
}
