/**
 * An informer that survives: list, then watch from the list's
 * resourceVersion, keeping an in-memory cache and telling handlers about
 * adds, updates and deletes. It never gives up:
 *
 * - 410 Gone (HTTP status or a watch ERROR event: the resourceVersion fell
 *   out of the API server's window) → relist at once, diffing against the
 *   cache so handlers see deletes that happened while we were not watching.
 * - A watch the server closes (its timeoutSeconds) or one idle past the
 *   client's inactivity timeout → watch again from the last resourceVersion.
 * - Any other error (list or watch: 403, 404 before a CRD exists, network)
 *   → retry with exponential backoff, reset by the next watch that lasts.
 *   A watch that ends within 500 ms of starting is backed off the same way.
 *
 * Every restart is counted in `operator_informer_watch_restarts_total{informer,reason}`.
 * Built on client-node's `Watch` (one streaming request) rather than its
 * ListWatch, which stops for good on errors other than 410.
 */
import { type KubeConfig, type KubernetesListObject, type KubernetesObject, Watch } from '@kubernetes/client-node';
import type { Counter } from 'prom-client';
import { type Clock, sleep, systemClock } from './clock.ts';
import { describeError, defaultLogger, type Logger } from './log.ts';
import { ensureCounter, Registry } from '@bulwark/service-kit/metrics';
import { backoffDelay, type BackoffOptions, type WorkQueue } from './queue.ts';

export type InformerEventType = 'add' | 'update' | 'delete';

export type InformerHandler<T extends KubernetesObject> = (type: InformerEventType, obj: T, old?: T) => void;

export interface InformerOptions<T extends KubernetesObject> {
  /** Metric and log label. */
  name: string;
  kc: KubeConfig;
  /** Collection path to watch, e.g. `/api/v1/namespaces/ns/configmaps`. */
  path: string;
  /** Lists the same collection (with the same selectors). */
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side watch timeout; the server closes the watch after it and we reconnect. Default 300. */
  timeoutSeconds?: number;
  /** Backoff for restarts after errors. Default 1 s doubling to 30 s. */
  backoff?: Partial<BackoffOptions>;
  /** Watch from this resourceVersion before any list (resuming); a too-old one leads to a relist. */
  resumeFrom?: string;
  clock?: Clock;
  log?: Logger;
  registry?: Registry;
}

/** The queue key of an object: `namespace/name`, or `name` when cluster-scoped. */
export function objectKey(obj: KubernetesObject): string {
  const { namespace, name } = obj.metadata ?? {};
  return namespace ? `${namespace}/${name ?? ''}` : (name ?? '');
}

/** A handler that enqueues the key of every object that changes. */
export function enqueueHandler<T extends KubernetesObject>(queue: WorkQueue, keyOf: (obj: T) => string = objectKey): InformerHandler<T> {
  return (_type, obj) => {
    queue.add(keyOf(obj));
  };
}

class GoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoneError';
  }
}

type WatchEnd = 'closed' | 'gone' | 'idle';

/** A watch ending sooner than this after it started is backed off like an error. */
const QUICK_END_MS = 500;

function isGone(error: unknown): boolean {
  if (error instanceof GoneError) return true;
  const e = error as { statusCode?: number; code?: number } | undefined;
  return e?.statusCode === 410 || e?.code === 410;
}

export class Informer<T extends KubernetesObject> {
  readonly #o: InformerOptions<T>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #backoff: BackoffOptions;
  readonly #restarts: Counter<'informer' | 'reason'>;
  readonly #handlers: InformerHandler<T>[] = [];
  readonly #cache = new Map<string, T>();
  readonly #stop = new AbortController();
  #resourceVersion: string;
  #synced = false;
  #syncWaiters: Array<() => void> = [];
  #abortWatch: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: InformerOptions<T>) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? defaultLogger();
    this.#backoff = { baseMs: 1000, maxMs: 30_000, ...options.backoff };
    this.#resourceVersion = options.resumeFrom ?? '';
    this.#restarts = ensureCounter(options.registry ?? new Registry(), {
      name: 'operator_informer_watch_restarts_total',
      help: 'Watches started again, by reason: closed (server timeout), idle, gone (410, relist), error (backoff).',
      labelNames: ['informer', 'reason'],
    });
  }

  /** Registers a handler; it sees every add, update and delete from then on. */
  on(handler: InformerHandler<T>): void {
    this.#handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  /** True once a list has been applied to the cache. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Starts listing and watching; resolves once the first list is in the cache (or on stop). */
  start(): Promise<void> {
    this.#loop ??= this.#run();
    if (this.#synced || this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#abortWatch?.();
    this.#wakeSyncWaiters();
    await this.#loop;
  }

  #wakeSyncWaiters(): void {
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #emit(type: InformerEventType, obj: T, old?: T): void {
    for (const handler of this.#handlers) {
      try {
        handler(type, obj, old);
      } catch (error) {
        this.#log.error({ informer: this.#o.name, err: describeError(error) }, 'informer handler failed');
      }
    }
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    let failures = 0;
    while (!signal.aborted) {
      let reason: string;
      try {
        if (!this.#resourceVersion) await this.#relist();
        const startedAt = this.#clock.now();
        const end = await this.#watchOnce();
        reason = end;
        if (end === 'gone') this.#resourceVersion = '';
        // A watch that keeps ending at once (a proxy cutting streams) must not become a hot loop.
        if (end !== 'gone' && this.#clock.now() - startedAt < QUICK_END_MS && !signal.aborted) {
          failures++;
          this.#restarts.inc({ informer: this.#o.name, reason });
          await sleep(this.#clock, backoffDelay(failures, this.#backoff), signal);
          continue;
        }
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        if (isGone(error)) {
          this.#resourceVersion = '';
          reason = 'gone';
        } else {
          failures++;
          reason = 'error';
          const delay = backoffDelay(failures, this.#backoff);
          this.#log.warn({ informer: this.#o.name, err: describeError(error), retryInMs: delay }, 'list/watch failed');
          this.#restarts.inc({ informer: this.#o.name, reason });
          await sleep(this.#clock, delay, signal);
          continue;
        }
      }
      if (signal.aborted) break;
      this.#restarts.inc({ informer: this.#o.name, reason });
      this.#log.debug({ informer: this.#o.name, reason }, 'watch restarting');
    }
  }

  async #relist(): Promise<void> {
    const list = await this.#o.list();
    const seen = new Set<string>();
    for (const obj of list.items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#cache.set(key, obj);
      if (!old) this.#emit('add', obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#emit('update', obj, old);
    }
    for (const [key, old] of [...this.#cache]) {
      if (!seen.has(key)) {
        this.#cache.delete(key);
        this.#emit('delete', old);
      }
    }
    this.#resourceVersion = list.metadata?.resourceVersion ?? '';
    if (!this.#synced) {
      this.#synced = true;
      this.#wakeSyncWaiters();
    }
  }

  #apply(phase: string, obj: T): void {
    const key = objectKey(obj);
    if (phase === 'ADDED' || phase === 'MODIFIED') {
      const old = this.#cache.get(key);
      this.#cache.set(key, obj);
      if (old) this.#emit('update', obj, old);
      else this.#emit('add', obj);
    } else if (phase === 'DELETED') {
      const old = this.#cache.get(key);
      this.#cache.delete(key);
      this.#emit('delete', obj, old);
    }
  }

  /** One watch request; resolves with why it ended, rejects on errors. */
  #watchOnce(): Promise<WatchEnd> {
    const { kc, path, labelSelector, fieldSelector } = this.#o;
    return new Promise<WatchEnd>((resolve, reject) => {
      let gone = false;
      let settled = false;
      const finish = (error: unknown): void => {
        if (settled) return;
        settled = true;
        this.#abortWatch = undefined;
        if (gone) resolve('gone');
        else if (!error || this.#stop.signal.aborted) resolve('closed');
        else if ((error as { name?: string }).name === 'TimeoutError') resolve('idle');
        else reject(error);
      };
      const onEvent = (phase: string, obj: unknown): void => {
        if (phase === 'ERROR') {
          const status = obj as { code?: number; message?: string };
          if (status.code === 410) gone = true;
          else finish(new Error(`watch error event: ${status.code ?? '?'} ${status.message ?? ''}`));
          controller?.abort();
          return;
        }
        const object = obj as T;
        const rv = object.metadata?.resourceVersion;
        if (rv) this.#resourceVersion = rv;
        if (phase !== 'BOOKMARK') this.#apply(phase, object);
      };
      let controller: AbortController | undefined;
      new Watch(kc)
        .watch(
          path,
          {
            resourceVersion: this.#resourceVersion || undefined,
            allowWatchBookmarks: true,
            timeoutSeconds: this.#o.timeoutSeconds ?? 300,
            labelSelector,
            fieldSelector,
          },
          onEvent,
          finish,
        )
        .then((c) => {
          controller = c;
          if (settled) return;
          this.#abortWatch = () => c.abort();
          if (this.#stop.signal.aborted) c.abort();
        }, finish);
    });
  }
}
