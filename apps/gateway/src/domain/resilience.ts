/**
 * Per-upstream resilience pieces: a retry budget over a sliding window and a
 * bulkhead (concurrency cap that refuses at once rather than queueing). The
 * circuit breaker is opossum, built in upstreams.ts; the backoff between
 * retries is the service kit's, with full jitter.
 */

/**
 * Retries may be at most `ratio` of requests over the last `windowSeconds`
 * (plus `minPerWindow`, so a quiet upstream can still retry). Counts live in
 * one-second buckets of a ring, so memory is fixed and old traffic slides out.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #minPerWindow: number;
  readonly #requests: Float64Array;
  readonly #retries: Float64Array;
  readonly #now: () => number;
  #second = 0;

  constructor(ratio: number, windowSeconds: number, minPerWindow: number, now: () => number = Date.now) {
    this.#ratio = ratio;
    this.#minPerWindow = minPerWindow;
    this.#requests = new Float64Array(windowSeconds);
    this.#retries = new Float64Array(windowSeconds);
    this.#now = now;
    this.#second = Math.floor(now() / 1000);
  }

  #advance(): number {
    const second = Math.floor(this.#now() / 1000);
    const size = this.#requests.length;
    if (second !== this.#second) {
      const steps = Math.min(size, Math.max(0, second - this.#second));
      for (let i = 1; i <= steps; i++) {
        const slot = (this.#second + i) % size;
        this.#requests[slot] = 0;
        this.#retries[slot] = 0;
      }
      this.#second = second;
    }
    return second % size;
  }

  recordRequest(): void {
    this.#requests[this.#advance()]!++;
  }

  /** Takes one retry from the budget if there is room; false means do not retry. */
  tryRetry(): boolean {
    const slot = this.#advance();
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < this.#requests.length; i++) {
      requests += this.#requests[i]!;
      retries += this.#retries[i]!;
    }
    if (retries + 1 > this.#minPerWindow + this.#ratio * requests) return false;
    this.#retries[slot]!++;
    return true;
  }
}

/** A concurrency cap; `tryAcquire` never waits. */
export class Bulkhead {
  readonly max: number;
  #inFlight = 0;

  constructor(max: number) {
    this.max = max;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Returns a release function (idempotent), or undefined when full. */
  tryAcquire(): (() => void) | undefined {
    if (this.#inFlight >= this.max) return undefined;
    this.#inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight--;
    };
  }
}

/** Methods that may be retried without an Idempotency-Key (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
