/**
 * One controller per custom resource: its informer runs on every replica (a
 * warm cache makes failover fast) but only the leader owns a work queue and
 * reconciles. Each leadership term gets a fresh queue, filled with every
 * cached key on start; losing leadership shuts that queue down (in-flight
 * reconciles finish, nothing new starts).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Informer } from './informer.ts';
import { objectKey } from './informer.ts';
import { describeError, jsonLogger, type Logger } from './log.ts';
import { Registry } from './metrics.ts';
import { type BackoffOptions, type RateLimitOptions, WorkQueue } from './queue.ts';

export interface ReconcileContext<T extends KubernetesObject> {
  /** The cached object, or undefined when it is gone. */
  obj: T | undefined;
  log: Logger;
  /** Aborts when this replica stops leading. */
  signal: AbortSignal;
  /** Reconcile this key again after `ms` (e.g. at the next schedule time); dropped when leadership ends. */
  requeueAfter(ms: number): void;
}

export type Reconciler<T extends KubernetesObject> = (key: string, ctx: ReconcileContext<T>) => Promise<void>;

export interface ControllerOptions<T extends KubernetesObject> {
  name: string;
  informer: Informer<T>;
  reconcile: Reconciler<T>;
  concurrency?: number;
  backoff?: Partial<BackoffOptions>;
  rateLimit?: Partial<RateLimitOptions>;
  registry?: Registry;
  log?: Logger;
}

export class Controller<T extends KubernetesObject> {
  readonly name: string;
  readonly #o: ControllerOptions<T>;
  readonly #log: Logger;
  readonly #registry: Registry;
  #queue: WorkQueue | undefined;
  #term: AbortController | undefined;
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(options: ControllerOptions<T>) {
    this.name = options.name;
    this.#o = options;
    this.#log = options.log ?? jsonLogger;
    this.#registry = options.registry ?? new Registry();
    options.informer.on((_type, obj) => {
      this.#queue?.add(objectKey(obj));
    });
  }

  /** Starts the informer (every replica); resolves once its cache is synced. */
  startInformer(): Promise<void> {
    return this.#o.informer.start();
  }

  get leading(): boolean {
    return this.#queue !== undefined;
  }

  /** Begins a leadership term: a new queue, primed with every cached key. */
  startLeading(): void {
    if (this.#queue) return;
    const term = new AbortController();
    this.#term = term;
    const { informer, reconcile } = this.#o;
    this.#queue = new WorkQueue({
      name: this.name,
      reconcile: (key) =>
        reconcile(key, { obj: informer.get(key), log: this.#log, signal: term.signal, requeueAfter: (ms) => this.#requeueAfter(key, ms) }),
      concurrency: this.#o.concurrency,
      backoff: this.#o.backoff,
      rateLimit: this.#o.rateLimit,
      registry: this.#registry,
      onError: (key, error, retryInMs) => this.#log.warn({ controller: this.name, key, err: describeError(error), retryInMs }, 'reconcile failed'),
    });
    for (const obj of informer.list()) this.#queue.add(objectKey(obj));
  }

  #requeueAfter(key: string, ms: number): void {
    clearTimeout(this.#timers.get(key));
    // Timers past ~24.8 days overflow setTimeout; the periodic resync of a longer schedule is the informer's relist.
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.enqueue(key);
    }, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    timer.unref();
    this.#timers.set(key, timer);
  }

  /** Ends the leadership term; resolves when in-flight reconciles are done. */
  async stopLeading(): Promise<void> {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    const queue = this.#queue;
    this.#queue = undefined;
    this.#term?.abort();
    await queue?.shutdown({ drain: false });
  }

  /** Enqueues a key now (e.g. a requeue-after timer fired); ignored unless leading. */
  enqueue(key: string): void {
    this.#queue?.add(key);
  }

  async stop(): Promise<void> {
    await this.stopLeading();
    await this.#o.informer.stop();
  }
}
