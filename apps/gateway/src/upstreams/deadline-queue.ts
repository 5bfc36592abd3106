/**
 * Attempt deadlines without a timer per attempt. Every attempt of a route has
 * the same timeout, so deadlines taken in start order are in deadline order:
 * one FIFO per timeout and one unref'd timer armed for its oldest live entry.
 * Starting a deadline is a clock read and a push; cancelling one is a flag
 * (no `clearTimeout`, no timer-list insert and removal per request, which
 * showed in the gateway's profile once the per-attempt timer list emptied
 * between requests). Settled entries leave from the head; when a slow head
 * keeps many of them behind it, the queue is compacted once it holds four
 * times more entries than live ones, so its size stays proportional to the
 * attempts in flight (which the bulkhead bounds).
 */

/** One started deadline; pass it to `cancel` when the attempt settles. */
export interface Deadline {
  readonly at: number;
  /** Called once if the deadline passes first; cleared by `cancel` or expiry. */
  onExpired: (() => void) | undefined;
}

const COMPACT_MIN = 64;

export class DeadlineQueue {
  readonly timeoutMs: number;
  #entries: Deadline[] = [];
  #head = 0;
  #live = 0;
  #armed = false;
  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /** Deadlines started and neither cancelled nor expired. */
  get live(): number {
    return this.#live;
  }

  /** Entries held, live or settled (bounded by compaction). */
  get held(): number {
    return this.#entries.length - this.#head;
  }

  /** Starts a deadline `timeoutMs` from now; `onExpired` runs if it passes before `cancel`. */
  start(onExpired: () => void): Deadline {
    const entry: Deadline = { at: performance.now() + this.timeoutMs, onExpired };
    this.#entries.push(entry);
    this.#live++;
    // Not armed means no live entry is older: the timer goes to this one.
    if (!this.#armed) this.#arm(entry.at);
    return entry;
  }

  /** Ends a deadline without expiry (idempotent; a no-op after expiry). */
  cancel(entry: Deadline): void {
    if (entry.onExpired === undefined) return;
    entry.onExpired = undefined;
    this.#live--;
    this.#dropSettled();
  }

  #dropSettled(): void {
    const entries = this.#entries;
    while (this.#head < entries.length && entries[this.#head]!.onExpired === undefined) this.#head++;
    const held = entries.length - this.#head;
    if (held === 0) {
      entries.length = 0;
      this.#head = 0;
    } else if (held > COMPACT_MIN && held > 4 * this.#live) {
      this.#entries = entries.filter((e, i) => i >= this.#head && e.onExpired !== undefined);
      this.#head = 0;
    } else if (this.#head > COMPACT_MIN && this.#head * 2 > entries.length) {
      this.#entries = entries.slice(this.#head);
      this.#head = 0;
    }
  }

  #arm(at: number): void {
    this.#armed = true;
    setTimeout(this.#fire, Math.max(0, Math.ceil(at - performance.now()))).unref();
  }

  readonly #fire = (): void => {
    const now = performance.now();
    const expired: (() => void)[] = [];
    const entries = this.#entries;
    while (this.#head < entries.length) {
      const entry = entries[this.#head]!;
      const onExpired = entry.onExpired;
      if (onExpired !== undefined) {
        if (entry.at > now) break;
        entry.onExpired = undefined;
        this.#live--;
        expired.push(onExpired);
      }
      this.#head++;
    }
    this.#dropSettled(); // the head is now live, or the queue empty
    this.#armed = false;
    if (this.#head < this.#entries.length) this.#arm(this.#entries[this.#head]!.at);
    // After re-arming: a callback that starts a deadline finds the timer armed for an older one.
    for (const onExpiredNow of expired) onExpiredNow();
  };
}
