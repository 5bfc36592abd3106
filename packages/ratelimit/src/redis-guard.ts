/**
 * The limiter's Redis side: runs the check script with EVALSHA raced against
 * a timeout (EVAL on NOSCRIPT, same deadline), and keeps the healthy/degraded
 * state. After a failure or timeout Redis is bypassed and probed by one call
 * every `retryIntervalMs`; the first success recovers. Transitions update the
 * metrics and are logged at most once per kind per `logIntervalMs`.
 */
import type { Logger } from '@bulwark/service-kit/logging';
import { EncodedEvalsha, type EncodedSlot } from './encoded-command.ts';
import type { RateLimitMetrics } from './metrics.ts';
import { isNoScript, loadScript, type ScriptClient } from './script-loader.ts';

export type FailureMode = 'fail-open' | 'fail-closed';

export interface RedisGuardOptions {
  redis: ScriptClient;
  timeoutMs: number;
  failureMode: FailureMode;
  retryIntervalMs: number;
  /** Transitions are logged at warn and info. */
  logger: Pick<Logger, 'warn' | 'info'> | undefined;
  logIntervalMs: number;
  metrics: RateLimitMetrics;
  /** Runs on each healthy → degraded transition. */
  onDegraded: () => void;
}

interface LogState {
  last: number;
  suppressed: number;
}

/** A call waiting for Redis, in the deadline queue. */
interface InFlight {
  readonly deadline: number;
  readonly reject: (err: unknown) => void;
  settled: boolean;
}

class RedisTimeoutError extends Error {
  constructor(ms: number) {
    super(`rate-limit script did not answer within ${ms} ms`);
    this.name = 'RedisTimeoutError';
  }
}

export class RedisGuard {
  readonly failureMode: FailureMode;
  readonly retryIntervalMs: number;
  readonly #redis: ScriptClient;
  readonly #encoded: EncodedEvalsha | undefined;
  readonly #script = loadScript('check-policies-n');
  readonly #timeoutMs: number;
  readonly #logger: Pick<Logger, 'warn' | 'info'> | undefined;
  readonly #logIntervalMs: number;
  readonly #metrics: RateLimitMetrics;
  readonly #onDegraded: () => void;
  readonly #logs = new Map<string, LogState>();
  #degradedSince: number | undefined;
  #retryAt = 0;
  #probing = false;
  /** Calls in start order (so in deadline order) from #head on; see `call`. */
  readonly #inFlight: InFlight[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RedisGuardOptions) {
    this.failureMode = options.failureMode;
    this.retryIntervalMs = options.retryIntervalMs;
    this.#redis = options.redis;
    this.#encoded = EncodedEvalsha.for(options.redis);
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger;
    this.#logIntervalMs = options.logIntervalMs;
    this.#metrics = options.metrics;
    this.#onDegraded = options.onDegraded;
  }

  /** True while Redis is bypassed after a failure or timeout. */
  get degraded(): boolean {
    return this.#degradedSince !== undefined;
  }

  /**
   * Healthy: always. Degraded: only one probe at a time, once per retry
   * interval. A true answer must be followed by `call` and `succeeded`/`failed`.
   */
  shouldTry(): boolean {
    if (this.#degradedSince === undefined) return true;
    if (this.#probing || Date.now() < this.#retryAt) return false;
    this.#probing = true;
    return true;
  }

  /**
   * EVALSHA raced against the timeout in one promise (no Promise.race, no
   * async wrapper: this is the hot path; the caller awaits it and reports
   * `succeeded(started)` or `failed(err, started)`). NOSCRIPT falls back to
   * EVAL inside the same deadline. A call that times out may still run later
   * in Redis and count against the quota: the error is on the strict side.
   * `slot` (the memo of a frozen hits array) lets a plain ioredis client
   * send the EVALSHA bytes it encoded for the same arguments last time (see
   * encoded-command.ts). `started` is the caller's performance.now().
   *
   * Deadlines: every call has the same timeout, so deadlines come in the
   * order calls start. They wait in one FIFO queue watched by one timer,
   * armed for the oldest unanswered call, instead of a setTimeout and a
   * clearTimeout per call (~2k instructions of the gateway's check).
   */
  call(n: number, argv: string[], slot?: EncodedSlot, started = performance.now()): Promise<unknown> {
    const script = this.#script;
    const redis = this.#redis;
    const encoded = this.#encoded;
    return new Promise((resolve, reject) => {
      const call: InFlight = { deadline: started + this.#timeoutMs, reject, settled: false };
      this.#watch(call);
      const done = (value: unknown): void => {
        call.settled = true;
        resolve(value);
      };
      const fail = (err: unknown): void => {
        call.settled = true;
        reject(err);
      };
      const sent = slot !== undefined && encoded !== undefined ? encoded.send(slot, script.sha, n, argv) : redis.evalsha(script.sha, n, argv);
      sent.then(done, (err: unknown) => {
        if (call.settled) return; // timed out already
        if (isNoScript(err)) redis.eval(script.source, n, argv).then(done, fail);
        else fail(err);
      });
    });
  }

  /** Number of calls whose deadline is still watched (answered ones leave lazily). */
  get watched(): number {
    return this.#inFlight.length - this.#head;
  }

  #watch(call: InFlight): void {
    const queue = this.#inFlight;
    // Redis answers in order, so answered calls are usually at the front.
    let head = this.#head;
    while (head < queue.length && queue[head]!.settled) head++;
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    this.#head = head;
    queue.push(call);
    if (this.#timer === undefined) this.#arm(call.deadline - performance.now());
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#sweep, Math.max(1, Math.ceil(ms)));
    this.#timer.unref();
  }

  /** Rejects every unanswered call past its deadline; re-arms for the oldest one left. */
  readonly #sweep = (): void => {
    this.#timer = undefined;
    const queue = this.#inFlight;
    const now = performance.now();
    let head = this.#head;
    for (; head < queue.length; head++) {
      const call = queue[head]!;
      if (call.settled) continue;
      if (call.deadline > now) break;
      call.settled = true;
      call.reject(new RedisTimeoutError(this.#timeoutMs));
    }
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    }
    this.#head = head;
    if (head < queue.length) this.#arm(queue[head]!.deadline - now);
  };

  /** The call started at `started` (performance.now()) answered. */
  succeeded(started: number): void {
    this.#metrics.scriptSeconds('ok', (performance.now() - started) / 1000);
    if (this.#degradedSince !== undefined) this.#onRecovery();
  }

  /** The call started at `started` failed or timed out: degrade (or stay degraded). */
  failed(err: unknown, started: number): void {
    const timedOut = err instanceof RedisTimeoutError;
    this.#metrics.scriptSeconds(timedOut ? 'timeout' : 'error', (performance.now() - started) / 1000);
    const now = Date.now();
    this.#retryAt = now + this.retryIntervalMs;
    this.#probing = false;
    const reason = timedOut ? 'timeout' : 'error';
    const message = err instanceof Error ? err.message : String(err);
    const mode = this.failureMode;
    if (this.#degradedSince === undefined) {
      this.#degradedSince = now;
      this.#onDegraded();
      this.#metrics.fallbackActivations.labels(mode).inc();
      this.#metrics.degraded.set(1);
      this.#log('warn', 'degraded', { mode, reason, err: message }, `rate limiter: Redis ${reason}, switching to ${mode}`);
    } else {
      this.#log('warn', 'probe-failed', { mode, reason, err: message }, 'rate limiter: Redis still unavailable');
    }
  }

  #onRecovery(): void {
    const downMs = Date.now() - (this.#degradedSince ?? Date.now());
    this.#degradedSince = undefined;
    this.#probing = false;
    this.#metrics.degraded.set(0);
    this.#log('info', 'recovered', { downMs }, 'rate limiter: Redis is back');
  }

  /** Rate-limited logging: one line per kind per interval, carrying how many were suppressed. */
  #log(level: 'warn' | 'info', kind: string, obj: Record<string, unknown>, msg: string): void {
    if (this.#logger === undefined) return;
    const now = Date.now();
    const state = this.#logs.get(kind) ?? { last: -Infinity, suppressed: 0 };
    this.#logs.set(kind, state);
    if (now - state.last < this.#logIntervalMs) {
      state.suppressed++;
      return;
    }
    const suppressed = state.suppressed;
    state.last = now;
    state.suppressed = 0;
    this.#logger[level](suppressed > 0 ? { ...obj, suppressed } : obj, msg);
  }
}
