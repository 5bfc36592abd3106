import { ApiException, CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../clock.ts';
import { LeaseLock } from '../lease.ts';
import type { ClusterRef } from '../postgres/driver.ts';

/** How often a healthy cluster's Lease is read (observe()). */
const OBSERVE_EVERY_MS = 5_000;

/**
 * The cluster's own Lease (`<name>-failover`): whoever acts on the instances
 * (failover, switchover, rejoin) must hold it, so two operators that both
 * believe they lead cannot act on the same cluster at once. One LeaseLock
 * (lease.ts, the same rules as leader election) per cluster: expiry of
 * another holder's record is judged on this process's clock, writes carry
 * the resourceVersion they read, and a conflict means someone else won.
 * `acquire` takes or renews it; `release` gives it up once an action is done,
 * so the next operator to act does not wait out the duration.
 */
export class ClusterLease {
  readonly #api: CoordinationV1Api;
  readonly #identity: string;
  readonly #durationSeconds: number;
  readonly #clock: Clock | undefined;
  readonly #locks = new Map<string, LeaseLock>();
  readonly #observedAt = new Map<string, number>();

  constructor(kc: KubeConfig, identity: string, options: { durationSeconds?: number; clock?: Clock } = {}) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#identity = identity;
    this.#durationSeconds = options.durationSeconds ?? 30;
    this.#clock = options.clock;
  }

  #lock(cluster: ClusterRef): LeaseLock {
    const key = `${cluster.namespace}/${cluster.name}`;
    let lock = this.#locks.get(key);
    if (!lock) {
      lock = new LeaseLock({ api: this.#api, namespace: cluster.namespace, name: `${cluster.name}-failover`, identity: this.#identity, durationSeconds: this.#durationSeconds, clock: this.#clock });
      this.#locks.set(key, lock);
    }
    return lock;
  }

  /** True when this operator holds the cluster's Lease afterwards. */
  async acquire(cluster: ClusterRef): Promise<boolean> {
    try {
      return await this.#lock(cluster).tryAcquireOrRenew();
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) return false;
      throw error;
    }
  }

  /**
   * Reads the Lease without taking it, at most once per OBSERVE_EVERY_MS per cluster, so that the
   * expiry of a record left by a holder that died is counted from the first time this operator saw it
   * (LeaseLock's rule) rather than from the first acquire, when a failover is already waiting.
   */
  async observe(cluster: ClusterRef): Promise<void> {
    const key = `${cluster.namespace}/${cluster.name}`;
    const now = performance.now();
    if ((this.#observedAt.get(key) ?? -Infinity) + OBSERVE_EVERY_MS > now) return;
    this.#observedAt.set(key, now);
    await this.#lock(cluster).observe();
  }

  /** Gives the Lease up if this operator holds it; a Lease changed by someone else meanwhile is left alone. */
  async release(cluster: ClusterRef): Promise<void> {
    try {
      await this.#lock(cluster).release();
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 409)) throw error;
    }
  }
}
