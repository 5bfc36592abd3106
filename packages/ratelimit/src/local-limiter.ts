/**
 * In-memory limiter used per instance while Redis is down or slow (fail-open).
 * It mirrors the Lua algorithms (same check-all-then-consume rule, same
 * remaining/reset/retry arithmetic) over a bounded Map, with each policy's
 * limit divided by the expected number of instances so the fleet as a whole
 * stays near the configured limit.
 */
import type { Algorithm } from './policy.ts';

/** One policy to check locally: its key, algorithm, (already divided) limit and window. */
export interface LocalEntry {
  key: string;
  algorithm: Algorithm;
  limit: number;
  windowMs: number;
}

export interface LocalResult {
  allowed: boolean;
  remaining: number;
  resetMs: number;
  /** 0 when allowed, -1 when the cost exceeds the limit. */
  retryAfterMs: number;
}

/** State of one key: token bucket (a = tokens, b = time) or window (a = index, b = count, c = previous count). */
interface State {
  a: number;
  b: number;
  c: number;
  expiresAt: number;
}

interface Peek extends LocalResult {
  remainingIfConsumed: number;
  resetIfConsumed: number;
  next: State;
}

function peekTokenBucket(s: State | undefined, limit: number, windowMs: number, now: number, cost: number): Peek {
  const rate = limit / windowMs;
  const tokens = s ? Math.min(limit, s.a + Math.max(0, now - s.b) * rate) : limit;
  const allowed = tokens >= cost;
  const resetIfConsumed = Math.ceil((limit - tokens + cost) / rate);
  return {
    allowed,
    remaining: Math.floor(tokens),
    resetMs: Math.ceil((limit - tokens) / rate),
    retryAfterMs: allowed ? 0 : cost > limit ? -1 : Math.ceil((cost - tokens) / rate),
    remainingIfConsumed: Math.floor(tokens - cost),
    resetIfConsumed,
    next: { a: tokens - cost, b: now, c: 0, expiresAt: now + Math.max(1, resetIfConsumed) },
  };
}

function peekSlidingWindow(s: State | undefined, limit: number, windowMs: number, now: number, cost: number): Peek {
  const idx = Math.floor(now / windowMs);
  let cur = 0;
  let prev = 0;
  if (s && s.a === idx) {
    cur = s.b;
    prev = s.c;
  } else if (s && s.a === idx - 1) {
    prev = s.b;
  }
  const start = idx * windowMs;
  const used = prev * (1 - (now - start) / windowMs) + cur;
  const allowed = used + cost <= limit;
  let retry = 0;
  if (!allowed) {
    if (cost > limit) retry = -1;
    else if (cur + cost > limit) retry = Math.ceil(start + windowMs + windowMs * (1 - (limit - cost) / cur) - now);
    else retry = Math.ceil(start + windowMs * (1 - (limit - cost - cur) / prev) - now);
    if (retry === 0) retry = 1;
  }
  const resetIfConsumed = Math.ceil(start + 2 * windowMs - now);
  return {
    allowed,
    remaining: Math.max(0, Math.floor(limit - used)),
    resetMs: cur > 0 ? resetIfConsumed : prev > 0 ? Math.ceil(start + windowMs - now) : 0,
    retryAfterMs: retry,
    remainingIfConsumed: Math.max(0, Math.floor(limit - used - cost)),
    resetIfConsumed,
    next: { a: idx, b: cur + cost, c: prev, expiresAt: now + Math.max(1, resetIfConsumed) },
  };
}

function peekFixedWindow(s: State | undefined, limit: number, windowMs: number, now: number, cost: number): Peek {
  const idx = Math.floor(now / windowMs);
  const count = s && s.a === idx ? s.b : 0;
  const ends = Math.ceil((idx + 1) * windowMs - now);
  const allowed = count + cost <= limit;
  return {
    allowed,
    remaining: Math.max(0, limit - count),
    resetMs: ends,
    retryAfterMs: allowed ? 0 : cost > limit ? -1 : Math.max(1, ends),
    remainingIfConsumed: Math.max(0, limit - count - cost),
    resetIfConsumed: ends,
    next: { a: idx, b: count + cost, c: 0, expiresAt: now + Math.max(1, ends) },
  };
}

const PEEK: Record<Algorithm, typeof peekTokenBucket> = {
  'token-bucket': peekTokenBucket,
  'sliding-window': peekSlidingWindow,
  'fixed-window': peekFixedWindow,
};

export class LocalLimiter {
  readonly #states = new Map<string, State>();
  readonly #maxKeys: number;

  /** `maxKeys` bounds memory during a long outage; the oldest keys are dropped first. */
  constructor(maxKeys = 100_000) {
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#states.size;
  }

  /** Checks all entries and consumes `cost` from each only if all admit it. */
  check(entries: readonly LocalEntry[], cost: number, now: number): { allowed: boolean; results: LocalResult[] } {
    const peeks: Peek[] = [];
    let allowed = true;
    for (const e of entries) {
      let s = this.#states.get(e.key);
      if (s && s.expiresAt <= now) {
        this.#states.delete(e.key);
        s = undefined;
      }
      const p = PEEK[e.algorithm](s, e.limit, e.windowMs, now, cost);
      if (!p.allowed) allowed = false;
      peeks.push(p);
    }
    const results: LocalResult[] = [];
    for (let i = 0; i < peeks.length; i++) {
      const p = peeks[i]!;
      if (allowed) {
        const key = entries[i]!.key;
        this.#states.delete(key); // re-insert so Map order is least-recently-written first
        this.#states.set(key, p.next);
        results.push({ allowed: true, remaining: p.remainingIfConsumed, resetMs: p.resetIfConsumed, retryAfterMs: 0 });
      } else {
        results.push({ allowed: p.allowed, remaining: p.remaining, resetMs: p.resetMs, retryAfterMs: p.retryAfterMs });
      }
    }
    this.#evict();
    return { allowed, results };
  }

  clear(): void {
    this.#states.clear();
  }

  #evict(): void {
    if (this.#states.size <= this.#maxKeys) return;
    for (const key of this.#states.keys()) {
      this.#states.delete(key);
      if (this.#states.size <= this.#maxKeys) return;
    }
  }
}
