/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules
 * and the Lease handling of lease.ts (one implementation for every Lease the
 * operator takes):
 *
 * - A candidate takes the Lease when it is free (no holder) or when the
 *   current record has not changed for `leaseDurationSeconds` as measured on
 *   the candidate's own clock since it first saw that record (no reliance on
 *   clocks agreeing across replicas).
 * - Every write carries the resourceVersion it read, so two candidates racing
 *   for the same Lease cannot both win: the loser gets 409 Conflict.
 * - Every term starts with an acquisition that increments leaseTransitions,
 *   also when a new process (or this one, after stepping down) finds a record
 *   under its own name, so the fencing token names exactly one term.
 * - The leader renews every `retryPeriodMs`; if it has not renewed
 *   successfully for `renewDeadlineMs` it stops leading (its signal aborts)
 *   before anyone else can take over, since renewDeadline < leaseDuration.
 * - On `stop()` a leader releases the Lease (empty holder, 1 s duration) so a
 *   standby takes over at its next retry instead of waiting out the lease.
 */
import { ApiException, type CoordinationV1Api } from '@kubernetes/client-node';
import type { Counter, Gauge } from 'prom-client';
import { type Clock, sleep, systemClock } from './clock.ts';
import { LeaseLock } from './lease.ts';
import { describeError, defaultLogger, type Logger } from './log.ts';
import { ensureCounter, ensureGauge, Registry } from '@bulwark/service-kit/metrics';

export interface LeaderElectionTimings {
  /** How long a Lease is valid without renewal. Default 15 s. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leading. Default 10 s. */
  renewDeadlineMs: number;
  /** Interval between acquire and renew attempts. Default 2 s. */
  retryPeriodMs: number;
}

export const DEFAULT_TIMINGS: LeaderElectionTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** Retry intervals get up to this factor of jitter (client-go's JitterFactor). */
export const JITTER_FACTOR = 1.2;

export class LeaderElectionConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid leader election config: ${problems.join('; ')}`);
    this.name = 'LeaderElectionConfigError';
    this.problems = problems;
  }
}

/**
 * Fills defaults and checks leaseDuration > renewDeadline > 1.2 × retryPeriod,
 * naming every problem at once. The Lease stores whole seconds, so the lease
 * duration must be a positive multiple of 1000 ms.
 */
export function resolveTimings(input: Partial<LeaderElectionTimings> = {}): LeaderElectionTimings {
  const t: LeaderElectionTimings = {
    leaseDurationMs: input.leaseDurationMs ?? DEFAULT_TIMINGS.leaseDurationMs,
    renewDeadlineMs: input.renewDeadlineMs ?? DEFAULT_TIMINGS.renewDeadlineMs,
    retryPeriodMs: input.retryPeriodMs ?? DEFAULT_TIMINGS.retryPeriodMs,
  };
  const problems: string[] = [];
  for (const [key, value] of Object.entries(t)) {
    if (!Number.isFinite(value) || value <= 0) problems.push(`${key} must be a positive number of ms (got ${value})`);
  }
  if (problems.length === 0) {
    if (t.leaseDurationMs % 1000 !== 0) problems.push(`leaseDurationMs must be whole seconds, as the Lease stores seconds (got ${t.leaseDurationMs})`);
    if (!(t.leaseDurationMs > t.renewDeadlineMs)) {
      problems.push(`leaseDurationMs (${t.leaseDurationMs}) must be greater than renewDeadlineMs (${t.renewDeadlineMs})`);
    }
    if (!(t.renewDeadlineMs > JITTER_FACTOR * t.retryPeriodMs)) {
      problems.push(`renewDeadlineMs (${t.renewDeadlineMs}) must be greater than ${JITTER_FACTOR} × retryPeriodMs (${JITTER_FACTOR * t.retryPeriodMs})`);
    }
  }
  if (problems.length > 0) throw new LeaderElectionConfigError(problems);
  return t;
}

export interface LeaderCallbacks {
  /** Called when this replica becomes leader; `signal` aborts when it stops leading. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once leadership is lost or released. */
  onStoppedLeading?(): void | Promise<void>;
  /** Called whenever the observed holder changes (including to this replica). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectorOptions extends Partial<LeaderElectionTimings>, LeaderCallbacks {
  api: CoordinationV1Api;
  namespace: string;
  leaseName: string;
  /** Unique per replica, usually the Pod name. */
  identity: string;
  /** Release the Lease on stop (default true). */
  releaseOnCancel?: boolean;
  clock?: Clock;
  log?: Logger;
  registry?: Registry;
  /** Random number in [0, 1) for jitter; injectable for tests. */
  random?: () => number;
}

/**
 * Identifies one leadership term: the holder and the Lease's leaseTransitions
 * when it was acquired. Transitions only grow, so a target that remembers the
 * highest token it has seen can refuse a deposed leader's late request.
 */
export interface FencingToken {
  holder: string;
  leaseTransitions: number;
}

/** `<leaseTransitions>/<holder>`: the integer first, so a target can compare tokens without parsing the holder. */
export function formatFencingToken(token: FencingToken): string {
  return `${token.leaseTransitions}/${token.holder}`;
}

export class LeaderElector {
  readonly identity: string;
  readonly timings: LeaderElectionTimings;
  readonly #o: LeaderElectorOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #random: () => number;
  readonly #transitions: Counter<'lease' | 'event'>;
  readonly #isLeader: Gauge<'lease' | 'identity'>;

  readonly #lock: LeaseLock;
  #leading: AbortController | undefined;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.timings = resolveTimings(options);
    if (!options.identity) throw new LeaderElectionConfigError(['identity must not be empty']);
    this.identity = options.identity;
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? defaultLogger();
    this.#random = options.random ?? Math.random;
    const registry = options.registry ?? new Registry();
    this.#transitions = ensureCounter(registry, {
      name: 'operator_leader_transitions_total',
      help: 'Leadership changes of this replica: started or stopped leading.',
      labelNames: ['lease', 'event'],
    });
    this.#isLeader = ensureGauge(registry, { name: 'operator_leader_is_leader', help: '1 while this replica leads.', labelNames: ['lease', 'identity'] });
    this.#isLeader.set({ lease: options.leaseName, identity: this.identity }, 0);
    this.#lock = new LeaseLock({
      api: options.api,
      namespace: options.namespace,
      name: options.leaseName,
      identity: options.identity,
      durationSeconds: this.timings.leaseDurationMs / 1000,
      clock: this.#clock,
      onNewHolder: (holder) => options.onNewLeader?.(holder),
    });
  }

  /** Random per LeaderElector (per process incarnation), stored on the Lease beside the holder. */
  get incarnation(): string {
    return this.#lock.incarnation;
  }

  get isLeader(): boolean {
    return this.#leading !== undefined;
  }

  /** The token of the current term, or undefined when not leading. */
  get term(): FencingToken | undefined {
    const transitions = this.#lock.held?.spec?.leaseTransitions;
    return this.#leading && transitions !== undefined ? { holder: this.identity, leaseTransitions: transitions } : undefined;
  }

  /**
   * Re-reads the Lease from the API server right before an action that must
   * happen at most once per tick: resolves to this term's token when this
   * replica still leads, the stored Lease still names it with the same
   * leaseTransitions, and its last renewal is within the renew deadline
   * (so no standby can have taken over yet). Otherwise undefined.
   */
  async confirm(): Promise<FencingToken | undefined> {
    const term = this.term;
    if (!term) return undefined;
    const lease = await this.#o.api.readNamespacedLease({ name: this.#o.leaseName, namespace: this.#o.namespace });
    if (!this.#lock.isOurs(lease) || (lease.spec?.leaseTransitions ?? 0) !== term.leaseTransitions) return undefined;
    if (this.#clock.now() - this.#lock.lastWriteAt >= this.timings.renewDeadlineMs) return undefined;
    return this.term && this.term.leaseTransitions === term.leaseTransitions ? term : undefined;
  }

  /** Starts campaigning in the background; call `stop()` to end. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops campaigning; a leader stops leading and (by default) releases the Lease. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      // Candidate: try until acquired.
      while (!signal.aborted && !(await this.#attempt(this.timings.renewDeadlineMs))) {
        await sleep(this.#clock, this.#jittered(), signal);
      }
      if (signal.aborted) break;
      await this.#lead(signal);
    }
    if (this.#leading) await this.#stopLeading('stopped');
    if (this.#lock.held && this.#o.releaseOnCancel !== false) await this.#release();
  }

  async #lead(signal: AbortSignal): Promise<void> {
    const leading = new AbortController();
    this.#leading = leading;
    this.#transitions.inc({ lease: this.#o.leaseName, event: 'started' });
    this.#isLeader.set({ lease: this.#o.leaseName, identity: this.identity }, 1);
    this.#log.info({ lease: this.#o.leaseName, identity: this.identity }, 'started leading');
    try {
      await this.#o.onStartedLeading(leading.signal);
    } catch (error) {
      this.#log.error({ lease: this.#o.leaseName, err: describeError(error) }, 'onStartedLeading failed');
    }
    let lastRenew = this.#clock.now();
    while (!signal.aborted) {
      await sleep(this.#clock, this.timings.retryPeriodMs, signal);
      if (signal.aborted) return;
      // A hung request must not stretch leadership past the renew deadline.
      if (await this.#attempt(Math.max(1, this.timings.renewDeadlineMs - (this.#clock.now() - lastRenew)))) {
        lastRenew = this.#clock.now();
        continue;
      }
      const lost = this.#lock.heldByOther;
      if (lost || this.#clock.now() - lastRenew >= this.timings.renewDeadlineMs) {
        this.#lock.forget();
        await this.#stopLeading(lost ? 'lost' : 'renew deadline exceeded');
        return;
      }
    }
  }

  async #stopLeading(reason: string): Promise<void> {
    const leading = this.#leading;
    if (!leading) return;
    this.#leading = undefined;
    leading.abort();
    this.#transitions.inc({ lease: this.#o.leaseName, event: 'stopped' });
    this.#isLeader.set({ lease: this.#o.leaseName, identity: this.identity }, 0);
    this.#log.info({ lease: this.#o.leaseName, identity: this.identity, reason }, 'stopped leading');
    try {
      await this.#o.onStoppedLeading?.();
    } catch (error) {
      this.#log.error({ lease: this.#o.leaseName, err: describeError(error) }, 'onStoppedLeading failed');
    }
  }

  #jittered(): number {
    return this.timings.retryPeriodMs * (1 + (JITTER_FACTOR - 1) * this.#random());
  }

  /** One attempt that counts as failed when it takes longer than `timeoutMs`. */
  async #attempt(timeoutMs: number): Promise<boolean> {
    let cancel: (() => void) | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      cancel = this.#clock.setTimer(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.#tryAcquireOrRenew(), timedOut]);
    } finally {
      cancel?.();
    }
  }

  /** One attempt; true when this replica holds the Lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    try {
      return await this.#lock.tryAcquireOrRenew();
    } catch (error) {
      const conflict = error instanceof ApiException && error.code === 409;
      this.#log[conflict ? 'debug' : 'warn']({ lease: this.#o.leaseName, identity: this.identity, err: describeError(error) }, 'lease acquire/renew failed');
      return false;
    }
  }

  async #release(): Promise<void> {
    try {
      if (await this.#lock.release()) this.#log.info({ lease: this.#o.leaseName, identity: this.identity }, 'released lease');
    } catch (error) {
      this.#log.warn({ lease: this.#o.leaseName, identity: this.identity, err: describeError(error) }, 'lease release failed');
    }
  }
}
