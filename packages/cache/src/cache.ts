/**
 * The two-tier cache. A lookup tries L1 (this process's LRU), then L2 (Redis),
 * then fills from the origin (the caller's factory):
 *
 * - one fill per key per process (single flight), and one across instances: the
 *   filler holds a short Redis lease, the others wait for its "filled" notice
 *   (or poll) and read the value it stored;
 * - fresh entries near expiry are refreshed early with a probability (XFetch),
 *   stale ones within the stale-while-revalidate window are served at once
 *   while one caller refreshes, and older ones within stale-if-error are served
 *   only when the origin fails;
 * - invalidation (key or tag) deletes from Redis and tells every instance over
 *   pub/sub to drop its L1 copies;
 * - with Redis down every lookup still answers, from L1 or the origin.
 */
import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';
import { backoffDelay } from '@bulwark/service-kit/backoff';
import { silentLogger, type Logger } from '@bulwark/service-kit/logging';
import { Registry } from '@bulwark/service-kit/metrics';
import { jitterTtl, retentionMs, shouldRefreshEarly, standing, type StaleWindows } from './freshness.ts';
import { RedisTier, type CacheMessage, type StoredEntry } from './l2.ts';
import { createCacheMetrics, type CacheMetrics } from './metrics.ts';

export interface CacheOptions {
  /** Names the cache in metrics and logs, and prefixes its Redis keys (`cache:<name>:…`) unless `prefix` is given. */
  name: string;
  prefix?: string;
  /** L2; without it the cache is L1 only (one process). */
  redis?: Redis;
  /** A second connection for pub/sub; default a duplicate of `redis`. */
  subscriber?: Redis;
  /** Freshness of an entry unless a call says otherwise; default 60 s. */
  ttlMs?: number;
  /** Fraction of the TTL taken off at random, so entries filled together expire apart; default 0.1. */
  jitter?: number;
  /** Default 0: no serving past freshness. */
  staleWhileRevalidateMs?: number;
  /** Default 0. */
  staleIfErrorMs?: number;
  /** XFetch beta: 0 turns early refresh off; default 1. */
  earlyRefreshBeta?: number;
  /** L1 size in entries; default 10,000. */
  l1MaxEntries?: number;
  /** Longest an entry stays in L1 (bounds staleness if an invalidation is lost); default 30 s. */
  l1MaxTtlMs?: number;
  /** Fill lease lifetime: how long others wait for a filler that died; default 5 s. */
  leaseTtlMs?: number;
  /** Per Redis operation; past it Redis counts as down; default 100 ms. */
  redisTimeoutMs?: number;
  registry?: Registry;
  log?: Logger;
}

export interface EntryOptions {
  ttlMs?: number;
  tags?: readonly string[];
}

interface L1Entry {
  value: unknown;
  /** local-clock (performance.now) instant freshness ends */
  freshUntil: number;
  w: number;
  e: number;
  d: number;
  tags: readonly string[] | undefined;
}

type Factory<T> = () => Promise<T>;

const WAIT_BACKOFF = { baseMs: 10, capMs: 200, jitter: 'equal' } as const;

export class Cache {
  readonly name: string;
  readonly registry: Registry;
  readonly #l1: LRUCache<string, L1Entry>;
  readonly #l2: RedisTier | undefined;
  readonly #metrics: CacheMetrics;
  readonly #log: Logger;
  readonly #ttlMs: number;
  readonly #jitter: number;
  readonly #windows: StaleWindows;
  readonly #beta: number;
  readonly #l1MaxTtlMs: number;
  readonly #leaseTtlMs: number;
  /** Fills under way (callers of the same key share one). */
  readonly #inflight = new Map<string, Promise<unknown>>();
  /** Background refreshes under way (nobody awaits them, so they never stand in for a fill). */
  readonly #refreshing = new Set<string>();
  readonly #fillWaiters = new Map<string, Set<() => void>>();

  constructor(options: CacheOptions) {
    this.name = options.name;
    this.registry = options.registry ?? new Registry();
    this.#metrics = createCacheMetrics(this.registry);
    this.#log = options.log ?? silentLogger;
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#jitter = options.jitter ?? 0.1;
    this.#windows = { staleWhileRevalidateMs: options.staleWhileRevalidateMs ?? 0, staleIfErrorMs: options.staleIfErrorMs ?? 0 };
    this.#beta = options.earlyRefreshBeta ?? 1;
    this.#l1MaxTtlMs = options.l1MaxTtlMs ?? 30_000;
    this.#leaseTtlMs = options.leaseTtlMs ?? 5_000;
    this.#l1 = new LRUCache<string, L1Entry>({ max: options.l1MaxEntries ?? 10_000, ttlAutopurge: false });
    if (options.redis) {
      this.#l2 = new RedisTier({
        redis: options.redis,
        ...(options.subscriber && { subscriber: options.subscriber }),
        prefix: options.prefix ?? `cache:${options.name}`,
        cacheName: options.name,
        timeoutMs: options.redisTimeoutMs ?? 100,
        metrics: this.#metrics,
        log: this.#log,
        onMessage: (m) => this.#onMessage(m),
        onRecovered: () => this.#l1.clear(),
      });
    }
  }

  /** Subscribes to the invalidation channel. Call once before serving. */
  async start(): Promise<void> {
    await this.#l2?.start();
  }

  async close(): Promise<void> {
    await this.#l2?.close();
  }

  /**
   * Cache-aside: the cached value of `key`, or `factory()`'s, stored in both tiers.
   * The factory runs at most once per key across instances while a fill is under way.
   * An origin error reaches the caller only when no stale-if-error value is kept.
   */
  async get<T>(key: string, factory: Factory<T>, options: EntryOptions = {}): Promise<T> {
    const local = this.#l1.get(key);
    if (local) {
      const freshLeft = local.freshUntil - performance.now();
      const s = standing(freshLeft, this.#windowsOf(local));
      if (s === 'fresh' || s === 'stale') {
        this.#metrics.hits.inc({ cache: this.name, tier: 'l1' });
        this.#maybeRefresh(key, factory, options, s, freshLeft, local.d);
        return local.value as T;
      }
    }
    this.#metrics.misses.inc({ cache: this.name, tier: 'l1' });
    return this.#singleFlight(key, () => this.#fromL2OrFill(key, factory, options, local)) as Promise<T>;
  }

  /** Only what is cached (L1, then L2), fresh or within stale-while-revalidate; never calls an origin. */
  async peek<T>(key: string): Promise<T | undefined> {
    const local = this.#l1.get(key);
    if (local && ['fresh', 'stale'].includes(standing(local.freshUntil - performance.now(), this.#windowsOf(local)))) return local.value as T;
    const remote = await this.#l2?.read(key);
    if (remote && ['fresh', 'stale'].includes(standing(remote.freshLeftMs, this.#windowsOf(remote)))) return remote.v as T;
    return undefined;
  }

  /** Stores `value` in both tiers and drops the key from every other instance's L1. */
  async set<T>(key: string, value: T, options: EntryOptions = {}): Promise<void> {
    await this.#store(key, value, options, 0);
    await this.#l2?.publish({ keys: [key] });
  }

  /** Write-through: `write` updates the origin and returns the new value, which then replaces the cached one. */
  async writeThrough<T>(key: string, write: () => Promise<T>, options: EntryOptions = {}): Promise<T> {
    const value = await write();
    await this.set(key, value, options);
    return value;
  }

  /** Removes keys from Redis and from L1 on every instance. */
  async delete(...keys: string[]): Promise<void> {
    for (const k of keys) this.#l1.delete(k);
    this.#metrics.invalidations.inc({ cache: this.name, kind: 'key', source: 'local' }, keys.length);
    await this.#l2?.delete(keys);
    await this.#l2?.publish({ keys });
  }

  /** Removes every entry carrying one of `tags`, in Redis and in L1 on every instance. */
  async invalidateTags(...tags: string[]): Promise<void> {
    this.#dropTaggedL1(tags);
    this.#metrics.invalidations.inc({ cache: this.name, kind: 'tag', source: 'local' }, tags.length);
    await this.#l2?.deleteTags(tags);
    await this.#l2?.publish({ tags });
  }

  /** Whether `key` is in this instance's L1 (for tests and diagnostics). */
  hasLocal(key: string): boolean {
    return this.#l1.has(key);
  }

  #singleFlight(key: string, run: () => Promise<unknown>): Promise<unknown> {
    const running = this.#inflight.get(key);
    if (running) return running;
    const p = run().finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #fromL2OrFill(key: string, factory: Factory<unknown>, options: EntryOptions, local: L1Entry | undefined): Promise<unknown> {
    const remote = await this.#l2?.read(key);
    let fallback: { value: unknown } | undefined = local && { value: local.value };
    if (remote) {
      const windows = this.#windowsOf(remote);
      const s = standing(remote.freshLeftMs, windows);
      if (s === 'fresh' || s === 'stale') {
        this.#metrics.hits.inc({ cache: this.name, tier: 'l2' });
        this.#setL1(key, remote.v, remote.freshLeftMs, remote);
        this.#maybeRefresh(key, factory, options, s, remote.freshLeftMs, remote.d, true);
        return remote.v;
      }
      if (s === 'error-only') fallback = { value: remote.v };
    }
    if (this.#l2) this.#metrics.misses.inc({ cache: this.name, tier: 'l2' });
    return this.#fill(key, factory, options, fallback);
  }

  /** One origin call across instances: take the lease and fill, or wait for whoever holds it. */
  async #fill(key: string, factory: Factory<unknown>, options: EntryOptions, fallback: { value: unknown } | undefined): Promise<unknown> {
    const deadline = performance.now() + this.#leaseTtlMs;
    for (let attempt = 1; this.#l2 && performance.now() < deadline; attempt++) {
      const token = await this.#l2.acquireLease(key, this.#leaseTtlMs);
      if (token === undefined) break; // Redis down: this process fills alone
      if (token !== null) {
        try {
          const landed = await this.#readFresh(key); // filled by another instance between our read and the lease
          if (landed) return landed.value;
          return await this.#callOrigin(key, factory, options, fallback);
        } finally {
          await this.#l2.releaseLease(key, token);
          await this.#l2.publish({ filled: key });
        }
      }
      if (attempt === 1) this.#metrics.stampedeWaits.inc({ cache: this.name });
      await this.#waitForFill(key, Math.min(backoffDelay(attempt, WAIT_BACKOFF), deadline - performance.now()));
      const landed = await this.#readFresh(key);
      if (landed) return landed.value;
    }
    return this.#callOrigin(key, factory, options, fallback);
  }

  async #readFresh(key: string): Promise<{ value: unknown } | undefined> {
    const remote = await this.#l2?.read(key);
    if (!remote || standing(remote.freshLeftMs, this.#windowsOf(remote)) !== 'fresh') return undefined;
    this.#metrics.hits.inc({ cache: this.name, tier: 'l2' });
    this.#setL1(key, remote.v, remote.freshLeftMs, remote);
    return { value: remote.v };
  }

  async #callOrigin(key: string, factory: Factory<unknown>, options: EntryOptions, fallback: { value: unknown } | undefined): Promise<unknown> {
    const started = performance.now();
    let value: unknown;
    try {
      value = await factory();
    } catch (err) {
      this.#metrics.factoryCalls.inc({ cache: this.name, outcome: 'error' });
      if (!fallback) throw err;
      this.#metrics.stale.inc({ cache: this.name, reason: 'error' });
      this.#log.warn({ err, cache: this.name, key }, 'cache: origin failed; serving the stale value');
      return fallback.value;
    }
    const took = performance.now() - started;
    this.#metrics.factoryCalls.inc({ cache: this.name, outcome: 'ok' });
    this.#metrics.factorySeconds.observe({ cache: this.name }, took / 1000);
    await this.#store(key, value, options, took);
    return value;
  }

  async #store(key: string, value: unknown, options: EntryOptions, deltaMs: number): Promise<void> {
    const freshMs = jitterTtl(options.ttlMs ?? this.#ttlMs, this.#jitter);
    const entry: StoredEntry = { v: value, w: this.#windows.staleWhileRevalidateMs, e: this.#windows.staleIfErrorMs, d: Math.round(deltaMs), ...(options.tags && { t: [...options.tags] }) };
    this.#setL1(key, value, freshMs, entry);
    await this.#l2?.write(key, entry, freshMs);
  }

  #setL1(key: string, value: unknown, freshLeftMs: number, entry: Pick<StoredEntry, 'w' | 'e' | 'd' | 't'>): void {
    const fresh = Math.min(freshLeftMs, this.#l1MaxTtlMs);
    const keepMs = fresh + retentionMs(this.#windowsOf(entry));
    if (keepMs <= 0) return;
    this.#l1.set(key, { value, freshUntil: performance.now() + fresh, w: entry.w, e: entry.e, d: entry.d, tags: entry.t }, { ttl: keepMs });
  }

  /** Refreshes in the background when serving stale, or early (XFetch) when fresh; one refresh per key at a time. */
  #maybeRefresh(key: string, factory: Factory<unknown>, options: EntryOptions, s: 'fresh' | 'stale', freshLeftMs: number, deltaMs: number, withinLookup = false): void {
    // withinLookup: called from the lookup that is itself the key's in-flight entry, which ends with this answer
    if ((!withinLookup && this.#inflight.has(key)) || this.#refreshing.has(key)) return;
    if (s === 'stale') this.#metrics.stale.inc({ cache: this.name, reason: 'revalidate' });
    else if (!shouldRefreshEarly(freshLeftMs, deltaMs, this.#beta)) return;
    this.#metrics.earlyRefreshes.inc({ cache: this.name, reason: s === 'stale' ? 'stale' : 'early' });
    this.#refreshing.add(key);
    this.#refresh(key, factory, options)
      .catch((err: unknown) => {
        this.#log.warn({ err, cache: this.name, key }, 'cache: background refresh failed; the current value stays');
      })
      .finally(() => this.#refreshing.delete(key));
  }

  async #refresh(key: string, factory: Factory<unknown>, options: EntryOptions): Promise<void> {
    const token = await this.#l2?.acquireLease(key, this.#leaseTtlMs);
    if (token === null) return; // another instance is refreshing it
    try {
      await this.#callOrigin(key, factory, options, undefined);
    } finally {
      if (token) {
        await this.#l2?.releaseLease(key, token);
        await this.#l2?.publish({ filled: key });
      }
    }
  }

  #waitForFill(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#fillWaiters.get(key);
      if (!waiters) this.#fillWaiters.set(key, (waiters = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.#fillWaiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      waiters.add(done);
    });
  }

  #onMessage(message: CacheMessage): void {
    if (message.filled !== undefined) {
      for (const done of [...(this.#fillWaiters.get(message.filled) ?? [])]) done();
      return;
    }
    if (message.from === this.#l2?.instanceId) return;
    if (message.keys) {
      for (const k of message.keys) this.#l1.delete(k);
      this.#metrics.invalidations.inc({ cache: this.name, kind: 'key', source: 'remote' }, message.keys.length);
    }
    if (message.tags) {
      this.#dropTaggedL1(message.tags);
      this.#metrics.invalidations.inc({ cache: this.name, kind: 'tag', source: 'remote' }, message.tags.length);
    }
  }

  #dropTaggedL1(tags: readonly string[]): void {
    const wanted = new Set(tags);
    for (const [k, entry] of this.#l1.entries()) {
      if (entry.tags?.some((t) => wanted.has(t))) this.#l1.delete(k);
    }
  }

  #windowsOf(entry: Pick<StoredEntry, 'w' | 'e'>): StaleWindows {
    return { staleWhileRevalidateMs: entry.w, staleIfErrorMs: entry.e };
  }
}
