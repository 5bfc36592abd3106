/**
 * The Redis tier: values with their remaining lifetime (PTTL, so freshness is
 * judged on the reader's clock), tag sets, fill leases and the pub/sub channel
 * that carries invalidations and "filled" notices between instances.
 *
 * Every call goes through one guard: an operation that fails or outlasts
 * `timeoutMs` marks Redis down (one log line, `cache_l2_up` 0) and the tier
 * answers "nothing" until a backoff delay has passed, so callers fall back to
 * L1 and the origin without waiting on a dead server and without an error.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { backoffDelay } from '@bulwark/service-kit/backoff';
import type { Logger } from '@bulwark/service-kit/logging';
import type { CacheMetrics } from './metrics.ts';

/** Lua scripts by name (read from src/lua from both src and dist), run with EVALSHA, loaded on first use and after a NOSCRIPT (a restarted Redis). */
const SCRIPTS = {
  readEntry: readFileSync(new URL('../src/lua/read-entry-1.lua', import.meta.url), 'utf8'),
  releaseLease: readFileSync(new URL('../src/lua/release-lease-1.lua', import.meta.url), 'utf8'),
};
type ScriptName = keyof typeof SCRIPTS;

/** What the store keeps per key; `v` is the value, the rest says how to age it. */
export interface StoredEntry {
  v: unknown;
  /** stale-while-revalidate window, ms */
  w: number;
  /** stale-if-error window, ms */
  e: number;
  /** how long the factory took, ms (drives early refresh) */
  d: number;
  /** tags */
  t?: string[];
}

export interface ReadEntry extends StoredEntry {
  /** freshness left when read (negative: stale for that long) */
  freshLeftMs: number;
}

/** A message between instances on the cache's channel. */
export interface CacheMessage {
  from: string;
  keys?: string[];
  tags?: string[];
  filled?: string;
  clear?: boolean;
}

export interface L2Options {
  redis: Redis;
  /** A second connection for SUBSCRIBE; default `redis.duplicate()`. */
  subscriber?: Redis;
  prefix: string;
  cacheName: string;
  timeoutMs: number;
  metrics: CacheMetrics;
  log: Logger;
  onMessage: (message: CacheMessage) => void;
  /** Called when Redis answers again after being down: invalidations may have been missed meanwhile. */
  onRecovered: () => void;
}

const DOWN_BACKOFF = { baseMs: 100, capMs: 5_000, jitter: 'equal' } as const;

export class RedisTier {
  readonly instanceId = randomUUID();
  readonly #o: L2Options;
  readonly #subscriber: Redis;
  readonly #ownsSubscriber: boolean;
  readonly #channel: string;
  #failures = 0;
  #retryAt = 0;
  readonly #shas = new Map<ScriptName, string>();

  constructor(options: L2Options) {
    this.#o = options;
    this.#ownsSubscriber = options.subscriber === undefined;
    this.#subscriber = options.subscriber ?? options.redis.duplicate();
    this.#channel = `${options.prefix}:events`;
    options.metrics.l2Up.set({ cache: options.cacheName }, 1);
  }

  /** Subscribes to the channel; resolves once subscribed (or logs and carries on if Redis is down). */
  async start(): Promise<void> {
    this.#subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.#channel) return;
      try {
        this.#o.onMessage(JSON.parse(raw) as CacheMessage);
      } catch (err) {
        this.#o.log.warn({ err, cache: this.#o.cacheName }, 'cache: unreadable message on the invalidation channel');
      }
    });
    // ioredis resubscribes after a reconnect; whatever was published meanwhile is lost, so L1 starts over.
    let subscribedOnce = false;
    this.#subscriber.on('ready', () => {
      if (subscribedOnce) this.#o.onRecovered();
    });
    this.#subscriber.on('error', () => undefined); // reported through the guard on the command connection
    await this.#guard(() => this.#subscriber.subscribe(this.#channel));
    subscribedOnce = true;
  }

  async close(): Promise<void> {
    if (this.#ownsSubscriber) this.#subscriber.disconnect();
  }

  valueKey(key: string): string {
    return `${this.#o.prefix}:v:${key}`;
  }

  get up(): boolean {
    return this.#failures === 0;
  }

  async read(key: string): Promise<ReadEntry | undefined> {
    const k = this.valueKey(key);
    const result = (await this.#guard(() => this.#run('readEntry', [k]))) as [string, number] | null | undefined;
    if (!result) return undefined;
    const [raw, pttl] = result;
    if (pttl < 0) return undefined;
    const entry = JSON.parse(raw) as StoredEntry;
    return { ...entry, freshLeftMs: pttl - Math.max(entry.w, entry.e, 0) };
  }

  /** Stores an entry for `freshMs` plus its longest stale window, and adds the key to its tags' sets. */
  async write(key: string, entry: StoredEntry, freshMs: number): Promise<boolean> {
    const k = this.valueKey(key);
    const lifeMs = freshMs + Math.max(entry.w, entry.e, 0);
    const done = await this.#guard(() => {
      const m = this.#o.redis.multi().set(k, JSON.stringify(entry), 'PX', lifeMs);
      for (const tag of entry.t ?? []) {
        const tk = this.#tagKey(tag);
        m.sadd(tk, key).pexpire(tk, lifeMs, 'NX').pexpire(tk, lifeMs, 'GT');
      }
      return m.exec();
    });
    return done !== undefined;
  }

  async delete(keys: readonly string[]): Promise<boolean> {
    if (keys.length === 0) return true;
    return (await this.#guard(() => this.#o.redis.del(...keys.map((k) => this.valueKey(k))))) !== undefined;
  }

  /** Deletes every value tagged with one of `tags`, and the tag sets. */
  async deleteTags(tags: readonly string[]): Promise<boolean> {
    const done = await this.#guard(async () => {
      for (const tag of tags) {
        const tk = this.#tagKey(tag);
        const keys = await this.#o.redis.smembers(tk);
        await this.#o.redis.del(tk, ...keys.map((k) => this.valueKey(k)));
      }
      return true;
    });
    return done !== undefined;
  }

  /** Takes the fill lease on `key`: a token if taken, `null` if another instance holds it, `undefined` if Redis is down. */
  async acquireLease(key: string, ttlMs: number): Promise<string | null | undefined> {
    const token = randomUUID();
    const ok = await this.#guard(() => this.#o.redis.set(this.#leaseKey(key), token, 'PX', ttlMs, 'NX'));
    if (ok === undefined) return undefined;
    return ok === 'OK' ? token : null;
  }

  async releaseLease(key: string, token: string): Promise<void> {
    await this.#guard(() => this.#run('releaseLease', [this.#leaseKey(key)], token));
  }

  async #run(name: ScriptName, keys: string[], ...args: string[]): Promise<unknown> {
    const sha = this.#shas.get(name);
    if (sha) {
      try {
        return await this.#o.redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!String(err).includes('NOSCRIPT')) throw err;
      }
    }
    const loaded = (await this.#o.redis.script('LOAD', SCRIPTS[name])) as string;
    this.#shas.set(name, loaded);
    return this.#o.redis.evalsha(loaded, keys.length, ...keys, ...args);
  }

  async publish(message: Omit<CacheMessage, 'from'>): Promise<boolean> {
    const raw = JSON.stringify({ ...message, from: this.instanceId });
    return (await this.#guard(() => this.#o.redis.publish(this.#channel, raw))) !== undefined;
  }

  #tagKey(tag: string): string {
    return `${this.#o.prefix}:tag:${tag}`;
  }

  #leaseKey(key: string): string {
    return `${this.#o.prefix}:lease:${key}`;
  }

  /** Runs `op` unless Redis is in its down backoff; `undefined` when skipped, failed or timed out. */
  async #guard<T>(op: () => Promise<T>): Promise<T | undefined> {
    if (this.#failures > 0 && performance.now() < this.#retryAt) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.#o.timeoutMs} ms`)), this.#o.timeoutMs);
      });
      const result = await Promise.race([op(), timeout]);
      if (this.#failures > 0) {
        this.#failures = 0;
        this.#o.metrics.l2Up.set({ cache: this.#o.cacheName }, 1);
        this.#o.log.info({ cache: this.#o.cacheName }, 'cache: Redis (L2) answers again; L1 cleared');
        this.#o.onRecovered();
      }
      return result;
    } catch (err) {
      this.#o.metrics.l2Errors.inc({ cache: this.#o.cacheName });
      if (this.#failures === 0) {
        this.#o.metrics.l2Up.set({ cache: this.#o.cacheName }, 0);
        this.#o.log.warn({ err, cache: this.#o.cacheName }, 'cache: Redis (L2) unavailable; serving from L1 and the origin');
      }
      this.#failures++;
      this.#retryAt = performance.now() + backoffDelay(this.#failures, DOWN_BACKOFF);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
