/**
 * One coordination.k8s.io/v1 Lease as a lock, the single implementation
 * behind leader election (leader.ts) and the per-cluster failover Lease
 * (reconcilers/postgrescluster.ts). Rules, as client-go's:
 *
 * - Expiry of a Lease held by someone else is judged on this process's own
 *   clock: the record must stay unchanged for its `leaseDurationSeconds`
 *   from when this lock first saw it. A remote `renewTime` is never compared
 *   with the local time, so clocks need not agree across machines.
 * - Every write carries the resourceVersion it read: of two racing writers
 *   one gets 409 Conflict.
 *
 * And one rule client-go lacks: a Lease is *ours* only when it names both our
 * identity and this lock's incarnation (a random id per process, kept in the
 * annotation `bulwark.dev/lease-incarnation`). A record with our name but
 * another incarnation is a previous process, or a second process configured
 * with the same name: it is waited out like any other holder, and taking it
 * is an acquisition. Every acquisition, including this lock re-taking its own
 * record after it stopped holding it, increments `leaseTransitions`, so the
 * fencing token `{holder, leaseTransitions}` names exactly one term.
 */
import { randomBytes } from 'node:crypto';
import { ApiException, type CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { type Clock, systemClock } from './clock.ts';

/** Annotation holding the incarnation of the process that wrote the Lease. */
export const INCARNATION_ANNOTATION = 'bulwark.dev/lease-incarnation';

export interface LeaseLockOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  /** The holder name written to `holderIdentity`. */
  identity: string;
  /** Written as `leaseDurationSeconds` by this lock. */
  durationSeconds: number;
  clock?: Clock;
  /** Called when the observed holder changes to a non-empty one (including to us). */
  onNewHolder?(holder: string): void;
}

interface Observed {
  holder: string;
  ours: boolean;
  resourceVersion: string;
  durationSeconds: number;
  /** Local time when this record was first seen. */
  seenAt: number;
}

/** A random id for one process incarnation (8 hex characters). */
export function newIncarnation(): string {
  return randomBytes(4).toString('hex');
}

export class LeaseLock {
  readonly identity: string;
  readonly incarnation = newIncarnation();
  readonly #o: LeaseLockOptions;
  readonly #clock: Clock;
  #observed: Observed | undefined;
  #held: V1Lease | undefined;
  #lastWriteAt = 0;
  /** Bumped by forget()/release(): a write still in flight from before must not make the Lease held again. */
  #epoch = 0;

  constructor(options: LeaseLockOptions) {
    this.#o = options;
    this.identity = options.identity;
    this.#clock = options.clock ?? systemClock;
  }

  /** The Lease as this lock last wrote it while holding it, else undefined. */
  get held(): V1Lease | undefined {
    return this.#held;
  }

  /** Local time at which the last successful acquire or renew was sent. */
  get lastWriteAt(): number {
    return this.#lastWriteAt;
  }

  /** True when the newest record seen names a holder other than this incarnation. */
  get heldByOther(): boolean {
    const seen = this.#observed;
    return seen !== undefined && seen.holder !== '' && !seen.ours;
  }

  /** True when `lease` names this identity and this incarnation. */
  isOurs(lease: V1Lease): boolean {
    return lease.spec?.holderIdentity === this.identity && lease.metadata?.annotations?.[INCARNATION_ANNOTATION] === this.incarnation;
  }

  /** Stop treating the Lease as held (leadership lost): taking it again is a new acquisition. */
  forget(): void {
    this.#held = undefined;
    this.#epoch++;
  }

  /**
   * One read and at most one write: true when this lock holds the Lease
   * afterwards (created, renewed, or acquired after the holder's record
   * stayed unchanged for its duration on our clock). Throws API errors,
   * 409 Conflict included (someone else wrote first).
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name } = this.#o;
    const now = this.#clock.now();
    const epoch = this.#epoch;
    let current: V1Lease;
    try {
      current = await api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 404)) throw error;
      const created = await api.createNamespacedLease({
        namespace,
        body: { metadata: { name, namespace, annotations: { [INCARNATION_ANNOTATION]: this.incarnation } }, spec: this.#spec(now, { leaseTransitions: 0 }) },
      });
      return this.#wrote(created, now, epoch);
    }
    this.#observe(current);
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const ours = this.isOurs(current);
    const renewing = ours && this.#held !== undefined;
    if (holder !== '' && !ours) {
      const observed = this.#observed;
      if (observed && observed.seenAt + observed.durationSeconds * 1000 > now) return false;
    }
    const updated = await api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        ...current,
        metadata: { ...current.metadata, annotations: { ...current.metadata?.annotations, [INCARNATION_ANNOTATION]: this.incarnation } },
        spec: renewing
          ? { ...spec, ...this.#spec(now, {}), acquireTime: spec.acquireTime ?? new V1MicroTime(now) }
          : { ...spec, ...this.#spec(now, { leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }) },
      },
    });
    return this.#wrote(updated, now, epoch);
  }

  /**
   * One read, no write: notes the current record, so that a holder's expiry is counted from now if the
   * record stays unchanged (e.g. read while idle, before the Lease is needed). Absent Lease: nothing.
   * Throws other API errors.
   */
  async observe(): Promise<void> {
    try {
      this.#observe(await this.#o.api.readNamespacedLease({ name: this.#o.name, namespace: this.#o.namespace }));
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 404)) throw error;
    }
  }

  /**
   * Gives the Lease up (empty holder, 1 s duration) so the next candidate
   * takes it at once. Guarded by the resourceVersion of our last write: if
   * anyone changed the Lease since, we no longer hold it and must not touch
   * it (the write fails with 409). Throws API errors.
   */
  async release(): Promise<boolean> {
    const held = this.#held;
    this.forget();
    if (!held?.spec) return false;
    const now = new V1MicroTime(this.#clock.now());
    await this.#o.api.replaceNamespacedLease({
      name: this.#o.name,
      namespace: this.#o.namespace,
      body: { ...held, spec: { ...held.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } },
    });
    return true;
  }

  #spec(now: number, extra: { leaseTransitions?: number }): NonNullable<V1Lease['spec']> {
    const time = new V1MicroTime(now);
    return { holderIdentity: this.identity, leaseDurationSeconds: this.#o.durationSeconds, acquireTime: time, renewTime: time, ...extra };
  }

  #wrote(lease: V1Lease, at: number, epoch: number): boolean {
    this.#observe(lease);
    if (epoch !== this.#epoch) return false;
    this.#held = lease;
    this.#lastWriteAt = at;
    return true;
  }

  #observe(lease: V1Lease): void {
    const holder = lease.spec?.holderIdentity ?? '';
    const resourceVersion = lease.metadata?.resourceVersion ?? '';
    const seen = this.#observed;
    if (seen && seen.resourceVersion === resourceVersion && seen.holder === holder) return;
    if (seen?.holder !== holder && holder !== '') this.#o.onNewHolder?.(holder);
    this.#observed = { holder, ours: this.isOurs(lease), resourceVersion, durationSeconds: lease.spec?.leaseDurationSeconds ?? 0, seenAt: this.#clock.now() };
  }
}
