/**
 * Redlock over several independent Redis instances, with fencing tokens.
 *
 * A lease is held when a majority granted it (SET NX PX of a random value, in
 * acquire-2.lua) within its validity on the local clock: the TTL less the
 * time the round took and the allowed drift. Each instance counts its grants
 * of a name (INCR in the same script); the token is the largest count among
 * the granting majority. When the granting instances disagree (one restarted
 * or missed grants while down), the token is written back to them
 * (confirm-2.lua, only where the lease is still ours) before the lease counts
 * as held, so on return a majority holds counter ≥ token. Any later lease
 * needs a majority too, which shares an instance with ours; that instance
 * grants it only after our key is gone there, i.e. after our write-back, so
 * its INCR, and the later token, is larger. See docs/DECISIONS.md for what
 * this needs (counters that survive a restart) and for what Redlock without
 * the token does not guarantee.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { loadScript, type LuaScript } from '@bulwark/ratelimit';
import { backoffDelay, type BackoffPolicy } from '@bulwark/service-kit/backoff';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { LockConfigError, LockLostError, LockNotAcquiredError } from './errors.ts';
import { runHolding } from './held.ts';
import { assertLockName } from './lock-key.ts';
import { createLockMetrics, type LockMetrics } from './metrics.ts';
import { fenceOf, quorum, validityMs } from './quorum.ts';

const LUA_DIR = new URL('../src/lua/', import.meta.url);
const scripts = {
  acquire: loadScript('acquire-2', LUA_DIR),
  confirm: loadScript('confirm-2', LUA_DIR),
  extend: loadScript('extend-1', LUA_DIR),
  release: loadScript('release-1', LUA_DIR),
};

export interface RedlockOptions {
  /**
   * One client per independent instance (not replicas of one another): 3 or
   * 5. Give them `enableOfflineQueue: false` and `maxRetriesPerRequest: 0` so
   * a dead instance answers with an error at once instead of queueing.
   */
  clients: readonly Redis[];
  /** Key prefix of this lock space (isolation between services and tests). */
  prefix: string;
  /** Clock drift allowed per ms of lease. Default 0.01. */
  driftFactor?: number;
  /**
   * How long one instance may take to answer before it counts as a refusal.
   * Default a twentieth of the lease, between 50 ms and 1 s (250 ms for a release).
   */
  instanceTimeoutMs?: number;
  /** Delay between attempts while waiting. Default full jitter, 5 ms doubling to 100 ms. */
  retry?: BackoffPolicy;
  /** Where the lock_* series go (metrics.ts); default a private registry. */
  registry?: Registry;
}

export interface RedlockAcquireOptions {
  /** Lease length in ms. */
  ttlMs: number;
  /** How long to keep trying. Default 0: one attempt. */
  waitMs?: number;
}

export interface RedisLease {
  readonly name: string;
  /** Fencing token: larger than every earlier holder's of this name. Send it with every protected write. */
  readonly token: number;
  /** Ms the lease can still be trusted on the local clock; ≤ 0 means it must be treated as lost. */
  remainingMs(): number;
  /** Extends the lease to `ttlMs` from now on a majority; LockLostError when it no longer can. */
  extend(ttlMs: number): Promise<void>;
  /** Releases it where it is still ours; true when a majority still held it. Idempotent. */
  release(): Promise<boolean>;
}

const DEFAULT_RETRY: BackoffPolicy = { baseMs: 5, capMs: 100, jitter: 'full' };

type Answer = { ok: true; value: unknown } | { ok: false; error: unknown };

export class Redlock {
  readonly #clients: readonly Redis[];
  readonly #prefix: string;
  readonly #drift: number;
  readonly #timeoutMs: number | undefined;
  readonly #retry: BackoffPolicy;
  /** @internal */
  readonly metrics: LockMetrics;
  /** Majority of the configured instances. */
  readonly quorum: number;

  constructor(options: RedlockOptions) {
    if (options.clients.length === 0) throw new LockConfigError('Redlock needs at least one Redis client');
    this.#clients = options.clients;
    this.#prefix = options.prefix;
    this.#drift = options.driftFactor ?? 0.01;
    this.#timeoutMs = options.instanceTimeoutMs;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.metrics = createLockMetrics(options.registry);
    this.quorum = quorum(options.clients.length);
  }

  /** The lock key and fence counter key of `name` (one hash slot, for a cluster). */
  keys(name: string): [lock: string, fence: string] {
    return [`${this.#prefix}{${name}}:lock`, `${this.#prefix}{${name}}:fence`];
  }

  /** Takes the lease, trying for up to `waitMs`; throws LockNotAcquiredError when it could not. */
  async acquire(name: string, options: RedlockAcquireOptions): Promise<RedisLease> {
    assertLockName(name);
    // The name is the keys' hash tag: a brace in it would split the lock and its counter across cluster slots.
    if (/[{}]/.test(name)) throw new LockConfigError(`a Redlock name may not hold braces, got ${JSON.stringify(name)}`);
    const { ttlMs } = options;
    if (!Number.isInteger(ttlMs) || ttlMs < 10) throw new LockConfigError(`ttlMs must be a whole number ≥ 10, got ${ttlMs}`);
    const asked = performance.now();
    const deadline = asked + (options.waitMs ?? 0);
    const done = (outcome: 'acquired' | 'busy' | 'error'): void => {
      this.metrics.acquisitions.inc({ kind: 'redlock', outcome });
      this.metrics.waitSeconds.observe({ kind: 'redlock' }, (performance.now() - asked) / 1000);
    };
    const [lockKey, fenceKey] = this.keys(name);
    for (let attempt = 1; ; attempt++) {
      const value = randomUUID();
      const start = performance.now();
      const answers = await this.#everywhere(scripts.acquire, 2, [lockKey, fenceKey, value, String(ttlMs)], this.#timeoutFor(ttlMs));
      const granted = grantedCounters(answers);
      let lease: Lease | undefined;
      if (granted.length >= this.quorum) {
        const { token, needsConfirm } = fenceOf(granted.map((g) => g.counter));
        const confirmed = needsConfirm ? await this.#confirm(granted.map((g) => g.index), lockKey, fenceKey, value, token, this.#timeoutFor(ttlMs)) : granted.length;
        const validity = validityMs(ttlMs, performance.now() - start, this.#drift);
        if (confirmed >= this.quorum && validity > 0) lease = new Lease(this, name, token, value, start + validity);
      }
      if (lease) {
        done('acquired');
        return lease;
      }
      await this.#releaseValue(lockKey, value);
      const delay = backoffDelay(attempt, this.#retry);
      if (performance.now() + delay >= deadline) {
        const failed = answers.filter((a) => !a.ok).length;
        done(failed > this.#clients.length - this.quorum ? 'error' : 'busy');
        const detail = failed > 0 ? `${failed} of ${this.#clients.length} instances failed to answer` : 'held by another holder';
        throw new LockNotAcquiredError(name, detail);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Takes the lease if free on a majority now, else undefined. */
  async tryAcquire(name: string, ttlMs: number): Promise<RedisLease | undefined> {
    try {
      return await this.acquire(name, { ttlMs });
    } catch (err) {
      if (err instanceof LockNotAcquiredError) return undefined;
      throw err;
    }
  }

  /**
   * Runs `fn` under the lease and releases it however `fn` ends; LockLostError when a majority no
   * longer held it at release (fn overran the lease). `fn` must pass the token to what it writes.
   */
  async using<T>(name: string, options: RedlockAcquireOptions, fn: (lease: RedisLease) => Promise<T>): Promise<T> {
    return runHolding(name, await this.acquire(name, options), fn, 'the lease ended before release');
  }

  /** @internal Extends `value`'s lease of `name` on a majority; returns its new validity end (local clock) or undefined. */
  async extendValue(name: string, value: string, ttlMs: number): Promise<number | undefined> {
    const [lockKey] = this.keys(name);
    const start = performance.now();
    const answers = await this.#everywhere(scripts.extend, 1, [lockKey, value, String(ttlMs)], this.#timeoutFor(ttlMs));
    const extended = answers.filter((a) => a.ok && a.value === 1).length;
    const validity = validityMs(ttlMs, performance.now() - start, this.#drift);
    return extended >= this.quorum && validity > 0 ? start + validity : undefined;
  }

  /** @internal Releases `value`'s lease of `name` everywhere; returns how many instances still held it. */
  async releaseValue(name: string, value: string): Promise<number> {
    return this.#releaseValue(this.keys(name)[0], value);
  }

  async #releaseValue(lockKey: string, value: string): Promise<number> {
    const answers = await this.#everywhere(scripts.release, 1, [lockKey, value], this.#timeoutMs ?? 250);
    return answers.filter((a) => a.ok && a.value === 1).length;
  }

  #timeoutFor(ttlMs: number): number {
    return this.#timeoutMs ?? Math.min(1_000, Math.max(50, Math.floor(ttlMs / 20)));
  }

  async #confirm(indexes: readonly number[], lockKey: string, fenceKey: string, value: string, token: number, timeoutMs: number): Promise<number> {
    const answers = await this.#ask(
      indexes.map((i) => this.#clients[i]!),
      scripts.confirm,
      2,
      [lockKey, fenceKey, value, String(token)],
      timeoutMs,
    );
    return answers.filter((a) => a.ok && a.value === 1).length;
  }

  #everywhere(script: LuaScript, numKeys: number, keysAndArgs: readonly string[], timeoutMs: number): Promise<Answer[]> {
    return this.#ask(this.#clients, script, numKeys, keysAndArgs, timeoutMs);
  }

  /** Each instance's answer within one shared deadline; a late answer is ignored (its grant expires with the TTL). */
  async #ask(clients: readonly Redis[], script: LuaScript, numKeys: number, keysAndArgs: readonly string[], timeoutMs: number): Promise<Answer[]> {
    let timer: NodeJS.Timeout | undefined;
    const late: Answer = { ok: false, error: new Error(`no answer within ${timeoutMs} ms`) };
    const deadline = new Promise<Answer>((resolve) => {
      timer = setTimeout(() => resolve(late), timeoutMs);
    });
    try {
      const answers = await Promise.all(
        clients.map((client) =>
          Promise.race([
            script.run(client, numKeys, keysAndArgs).then(
              (value): Answer => ({ ok: true, value }),
              (error: unknown): Answer => ({ ok: false, error }),
            ),
            deadline,
          ]),
        ),
      );
      const failed = answers.filter((a) => !a.ok).length;
      if (failed > 0) this.metrics.instanceErrors.inc(failed);
      return answers;
    } finally {
      clearTimeout(timer);
    }
  }
}

function grantedCounters(answers: readonly Answer[]): { index: number; counter: number }[] {
  const granted: { index: number; counter: number }[] = [];
  answers.forEach((a, index) => {
    if (a.ok && typeof a.value === 'number') granted.push({ index, counter: a.value });
  });
  return granted;
}

class Lease implements RedisLease {
  readonly name: string;
  readonly token: number;
  readonly #owner: Redlock;
  readonly #value: string;
  readonly #acquiredAt = performance.now();
  #validUntil: number;
  #lostCounted = false;
  #released: Promise<boolean> | undefined;

  constructor(owner: Redlock, name: string, token: number, value: string, validUntil: number) {
    this.#owner = owner;
    this.name = name;
    this.token = token;
    this.#value = value;
    this.#validUntil = validUntil;
  }

  remainingMs(): number {
    return this.#released ? 0 : this.#validUntil - performance.now();
  }

  async extend(ttlMs: number): Promise<void> {
    if (this.#released) throw new LockLostError(this.name, 'already released');
    const until = await this.#owner.extendValue(this.name, this.#value, ttlMs);
    if (until === undefined) {
      this.#validUntil = 0;
      this.#countLost();
      throw new LockLostError(this.name, 'a majority no longer holds the lease');
    }
    this.#validUntil = until;
  }

  #countLost(): void {
    if (this.#lostCounted) return;
    this.#lostCounted = true;
    this.#owner.metrics.lost.inc({ kind: 'redlock' });
  }

  release(): Promise<boolean> {
    this.#released ??= this.#owner.releaseValue(this.name, this.#value).then((held) => {
      const stillHeld = held >= this.#owner.quorum;
      this.#owner.metrics.heldSeconds.observe({ kind: 'redlock' }, (performance.now() - this.#acquiredAt) / 1000);
      if (!stillHeld) this.#countLost();
      return stillHeld;
    });
    return this.#released;
  }
}
