/**
 * The operator's one work queue: keys ("namespace/name") in, one reconcile per
 * key at a time out. It owns deduplication, per-key exponential backoff, an
 * overall token-bucket rate limit, parallelism across keys and a draining
 * shutdown. Semantics follow client-go's rate-limited workqueue:
 *
 * - `add(key)` while the key is ready merges into the queued entry; while it is
 *   being reconciled the key is marked dirty and queued again once that
 *   reconcile ends (the running one may have read state from before the event).
 * - A failed reconcile is retried after `min(baseMs * 2^(failures-1), maxMs)`;
 *   a success resets the count. An `add` during the wait makes the key ready
 *   at once (a new event may be what fixes it) but keeps the failure count, so
 *   a key that keeps failing still backs off.
 * - Every reconcile takes one token from a bucket of `burst` tokens refilled at
 *   `perSecond`, bounding the load the operator puts on the API server.
 */
import type { Counter, Gauge, Histogram } from 'prom-client';
import { type CancelTimer, type Clock, systemClock } from './clock.ts';
import { backoffCeiling } from '@bulwark/service-kit/backoff';
import { ensureCounter, ensureGauge, ensureHistogram, Registry } from '@bulwark/service-kit/metrics';

export type Reconcile = (key: string) => Promise<void>;

export interface BackoffOptions {
  /** Delay before the first retry. Default 200 ms. */
  baseMs: number;
  /** Upper bound of the delay. Default 5 minutes. */
  maxMs: number;
}

export interface RateLimitOptions {
  /** Tokens added per second. Default 10. */
  perSecond: number;
  /** Bucket size, i.e. reconciles allowed back to back. Default 100. */
  burst: number;
}

export interface WorkQueueOptions {
  /** Label on the queue's metrics. */
  name: string;
  reconcile: Reconcile;
  /** Reconciles running at once, always for different keys. Default 1. */
  concurrency?: number;
  backoff?: Partial<BackoffOptions>;
  rateLimit?: Partial<RateLimitOptions>;
  clock?: Clock;
  /** Where the queue's metrics are registered; a private registry when absent. */
  registry?: Registry;
  /** Told about each failure and when the key will be retried. */
  onError?: (key: string, error: unknown, retryInMs: number) => void;
}

/**
 * Delay before retry number `failures` (1-based; 0 before any failure): the
 * kit's backoff without jitter (one queue retries a key, nothing to spread).
 */
export function backoffDelay(failures: number, backoff: BackoffOptions): number {
  return failures <= 0 ? 0 : backoffCeiling(failures, { baseMs: backoff.baseMs, capMs: backoff.maxMs });
}

/**
 * A token bucket: starts full, refills continuously. `take` either takes a
 * token (returns 0) or returns how many ms until one is available.
 */
export class TokenBucket {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;

  constructor(options: RateLimitOptions, clock: Clock) {
    if (!(options.perSecond > 0) || !(options.burst >= 1)) {
      throw new Error(`rate limit needs perSecond > 0 and burst >= 1 (got perSecond=${options.perSecond}, burst=${options.burst})`);
    }
    this.#perSecond = options.perSecond;
    this.#burst = options.burst;
    this.#clock = clock;
    this.#tokens = options.burst;
    this.#updatedAt = clock.now();
  }

  take(): number {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.#perSecond);
    this.#updatedAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / this.#perSecond) * 1000);
  }
}

export interface QueueStats {
  /** Ready keys waiting for a worker. */
  ready: number;
  /** Keys being reconciled. */
  processing: number;
  /** Keys waiting for a backoff retry. */
  waiting: number;
}

export class WorkQueue {
  readonly #reconcile: Reconcile;
  readonly #concurrency: number;
  readonly #backoff: BackoffOptions;
  readonly #bucket: TokenBucket;
  readonly #clock: Clock;
  readonly #onError: WorkQueueOptions['onError'];
  readonly #name: string;

  // Insertion-ordered: iteration gives FIFO order.
  readonly #ready = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #waiting = new Map<string, CancelTimer>();
  readonly #failures = new Map<string, number>();

  #rateTimer: CancelTimer | undefined;
  #shuttingDown = false;
  #idleWaiters: Array<() => void> = [];

  readonly #adds: Counter;
  readonly #merged: Counter;
  readonly #retries: Counter;
  readonly #results: Counter;
  readonly #depth: Gauge;
  readonly #duration: Histogram;

  constructor(options: WorkQueueOptions) {
    this.#name = options.name;
    this.#reconcile = options.reconcile;
    this.#concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(this.#concurrency) || this.#concurrency < 1) {
      throw new Error(`work queue ${options.name}: concurrency must be an integer >= 1 (got ${this.#concurrency})`);
    }
    this.#backoff = { baseMs: 200, maxMs: 5 * 60_000, ...options.backoff };
    if (!(this.#backoff.baseMs > 0) || this.#backoff.maxMs < this.#backoff.baseMs) {
      throw new Error(`work queue ${options.name}: backoff needs 0 < baseMs <= maxMs`);
    }
    this.#clock = options.clock ?? systemClock;
    this.#bucket = new TokenBucket({ perSecond: 10, burst: 100, ...options.rateLimit }, this.#clock);
    this.#onError = options.onError;

    const registry = options.registry ?? new Registry();
    const labelNames = ['queue'] as const;
    this.#adds = ensureCounter(registry, { name: 'operator_workqueue_adds_total', help: 'Keys added to the work queue.', labelNames });
    this.#merged = ensureCounter(registry, { name: 'operator_workqueue_merged_total', help: 'Adds merged into a key already queued or running.', labelNames });
    this.#retries = ensureCounter(registry, { name: 'operator_workqueue_retries_total', help: 'Retries scheduled after a failed reconcile.', labelNames });
    this.#results = ensureCounter(registry, { name: 'operator_reconcile_total', help: 'Reconciles by result.', labelNames: ['queue', 'result'] });
    this.#depth = ensureGauge(registry, { name: 'operator_workqueue_depth', help: 'Keys ready and waiting for a worker.', labelNames });
    this.#duration = ensureHistogram(registry, { name: 'operator_reconcile_duration_seconds', help: 'Reconcile duration.', labelNames });
  }

  /**
   * Queues a key for reconciliation. Returns false when the queue is shutting
   * down and the key was dropped.
   */
  add(key: string): boolean {
    if (this.#shuttingDown) return false;
    this.#adds.inc({ queue: this.#name });
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      this.#merged.inc({ queue: this.#name });
      return true;
    }
    if (this.#ready.has(key)) {
      this.#merged.inc({ queue: this.#name });
      return true;
    }
    this.#cancelWait(key);
    this.#makeReady(key);
    return true;
  }

  /** Forgets the failure count of a key (e.g. its object was deleted). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Failures of a key since its last success. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  stats(): QueueStats {
    return { ready: this.#ready.size, processing: this.#processing.size, waiting: this.#waiting.size };
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops taking keys and drops pending retries, then resolves once the
   * reconciles in flight and (with `drain`, the default) the keys already
   * ready have finished. Failures during the drain are not retried.
   */
  async shutdown(options: { drain?: boolean } = {}): Promise<void> {
    this.#shuttingDown = true;
    for (const key of [...this.#waiting.keys()]) this.#cancelWait(key);
    this.#dirty.clear();
    if (options.drain === false) this.#ready.clear();
    this.#depth.set({ queue: this.#name }, this.#ready.size);
    if (this.#isIdle()) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return this.#ready.size === 0 && this.#processing.size === 0;
  }

  #makeReady(key: string): void {
    this.#ready.add(key);
    this.#depth.set({ queue: this.#name }, this.#ready.size);
    this.#dispatch();
  }

  #cancelWait(key: string): void {
    const cancel = this.#waiting.get(key);
    if (cancel) {
      cancel();
      this.#waiting.delete(key);
    }
  }

  #dispatch(): void {
    while (this.#processing.size < this.#concurrency && this.#rateTimer === undefined) {
      const key = this.#ready.values().next().value;
      if (key === undefined) break;
      const waitMs = this.#bucket.take();
      if (waitMs > 0) {
        this.#rateTimer = this.#clock.setTimer(() => {
          this.#rateTimer = undefined;
          this.#dispatch();
        }, waitMs);
        break;
      }
      this.#ready.delete(key);
      this.#depth.set({ queue: this.#name }, this.#ready.size);
      this.#processing.add(key);
      void this.#run(key);
    }
    if (this.#isIdle()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  async #run(key: string): Promise<void> {
    const startedAt = this.#clock.now();
    let failed = false;
    let error: unknown;
    try {
      await this.#reconcile(key);
    } catch (err) {
      failed = true;
      error = err;
    }
    this.#duration.observe({ queue: this.#name }, (this.#clock.now() - startedAt) / 1000);
    this.#results.inc({ queue: this.#name, result: failed ? 'error' : 'success' });
    this.#processing.delete(key);
    const dirty = this.#dirty.delete(key);

    if (!failed) this.#failures.delete(key);
    if (this.#shuttingDown) {
      this.#dispatch();
      return;
    }
    if (failed) {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      const delay = backoffDelay(failures, this.#backoff);
      this.#onError?.(key, error, dirty ? 0 : delay);
      if (!dirty) {
        this.#retries.inc({ queue: this.#name });
        this.#waiting.set(
          key,
          this.#clock.setTimer(() => {
            this.#waiting.delete(key);
            if (!this.#shuttingDown) this.#makeReady(key);
          }, delay),
        );
      }
    }
    if (dirty) this.#makeReady(key);
    else this.#dispatch();
  }
}
