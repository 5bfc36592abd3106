/**
 * One controller per custom resource: its informer runs on every replica (a
 * warm cache makes failover fast) but only the leader owns a work queue and
 * reconciles. Each leadership term gets a fresh queue, filled with every
 * cached key on start; losing leadership shuts that queue down (in-flight
 * reconciles finish, nothing new starts).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Informer } from './informer.ts';
import type { FencingToken } from './leader.ts';
import { objectKey } from './informer.ts';
import { describeError, defaultLogger, type Logger } from './log.ts';
import { Registry } from '@bulwark/service-kit/metrics';
import { type BackoffOptions, type RateLimitOptions, WorkQueue } from './queue.ts';

export interface ReconcileContext<T extends KubernetesObject> {
  /** The cached object, or undefined when it is gone. */
  obj: T | undefined;
  log: Logger;
  /** Aborts when this replica stops leading. */
  signal: AbortSignal;
  /** Reconcile this key again after `ms` (e.g. at the next schedule time); dropped when leadership ends. */
  requeueAfter(ms: number): void;
  /**
   * Re-reads the leader Lease: this term's fencing token while this replica
   * still holds it, else undefined. Call it right before a write that must
   * happen once (e.g. claiming a cron tick).
   */
  confirmLeadership(): Promise<FencingToken | undefined>;
}

/** What a leadership term offers its controllers. */
export interface LeadershipTerm {
  confirm(): Promise<FencingToken | undefined>;
}

/** An informer on objects a reconciler depends on; `keyOf` maps a change to the owning key to reconcile (or none). */
export interface SecondaryWatch {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- informers of any kind
  informer: Informer<any>;
  keyOf(obj: KubernetesObject): string | undefined;
}

export type Reconciler<T extends KubernetesObject> = (key: string, ctx: ReconcileContext<T>) => Promise<void>;

export interface ControllerOptions<T extends KubernetesObject> {
  name: string;
  informer: Informer<T>;
  reconcile: Reconciler<T>;
  /**
   * Which changes of the main informer enqueue their key (default: all). E.g.
   * ignore updates that only touch status, which the reconciler wrote itself.
   */
  shouldEnqueue?: (type: 'add' | 'update' | 'delete', obj: T, old: T | undefined) => boolean;
  /** Further informers (all replicas), e.g. on objects the reconciler creates; their changes enqueue the owner's key. */
  watches?: SecondaryWatch[];
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
    this.#log = options.log ?? defaultLogger();
    this.#registry = options.registry ?? new Registry();
    options.informer.on((type, obj, old) => {
      if (options.shouldEnqueue && !options.shouldEnqueue(type, obj, old)) return;
      this.#queue?.add(objectKey(obj));
    });
    for (const watch of options.watches ?? []) {
      watch.informer.on((_type: string, obj: KubernetesObject) => {
        const key = watch.keyOf(obj);
        if (key) this.#queue?.add(key);
      });
    }
  }

  /** Starts the informers (every replica); resolves once their caches are synced. */
  async startInformer(): Promise<void> {
    await Promise.all([this.#o.informer.start(), ...(this.#o.watches ?? []).map((w) => w.informer.start())]);
  }

  get leading(): boolean {
    return this.#queue !== undefined;
  }

  /** Begins a leadership term: a new queue, primed with every cached key. */
  startLeading(term?: LeadershipTerm): void {
    if (this.#queue) return;
    const confirmLeadership = term ? () => term.confirm() : () => Promise.resolve(undefined);
    const abort = new AbortController();
    this.#term = abort;
    const { informer, reconcile } = this.#o;
    this.#queue = new WorkQueue({
      name: this.name,
      reconcile: (key) =>
        reconcile(key, {
          obj: informer.get(key),
          log: this.#log,
          signal: abort.signal,
          requeueAfter: (ms) => this.#requeueAfter(key, ms),
          confirmLeadership,
        }),
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
    await Promise.all([this.#o.informer.stop(), ...(this.#o.watches ?? []).map((w) => w.informer.stop())]);
  }
}
