/**
 * PostgresCluster reconciler: probes every instance each probeIntervalMs,
 * keeps the `<name>-rw` endpoint on the primary and `<name>-ro` on the
 * streaming replicas, keeps synchronous replication configured, and on a
 * primary failure (N consecutive failed probes, or the host view saying it is
 * gone) runs a failover in the order of `failoverSteps()`: hold the cluster's
 * Lease, fence the old primary (off -rw, then stopped), choose the replica,
 * pg_promote it, route -rw to it, repoint the other replicas, record it.
 * A returned old primary is rewound and re-attached as a replica. The
 * annotation `bulwark.dev/switchover-to: <instance>` ("" = best replica) asks
 * for a switchover with the same fencing order.
 *
 * Routing and instance access are pluggable: in the cluster the Pods of a
 * StatefulSet are labelled (`bulwark.dev/role`) and the Services select on the
 * label; with local processes (tests, bench) the operator writes the
 * EndpointSlices of selector-less Services itself.
 */
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { Clock } from '../clock.ts';
import { Controller, type Reconciler } from '../controller.ts';
import { Informer } from '../informer.ts';
import { LeaseLock } from '../lease.ts';
import { type Condition, type CustomRef, KubeWriter, setCondition } from '../kube.ts';
import { describeError, type Logger } from '../log.ts';
import type { Counter, Histogram } from 'prom-client';
import { ensureCounter, ensureHistogram, type Registry } from '@bulwark/service-kit/metrics';
import type { ClusterRef, InstanceDriver, InstanceInfo } from '../postgres/driver.ts';
import { formatLsn } from '../postgres/lsn.ts';
import { conninfo, type Endpoint, probeInstance, promote, setSystem } from '../postgres/sql.ts';
import {
  chooseCandidate,
  type ClusterMemory,
  decide,
  desiredSyncNames,
  failoverSteps,
  type InstanceProbe,
  type PostgresClusterSpec,
  SPEC_DEFAULTS,
  validateSpec,
} from './postgrescluster-decide.ts';

export const POSTGRESCLUSTER = { group: 'bulwark.dev', version: 'v1alpha1', plural: 'postgresclusters', kind: 'PostgresCluster' } as const;
export const SWITCHOVER_ANNOTATION = 'bulwark.dev/switchover-to';
export const ROLE_LABEL = 'bulwark.dev/role';
export const CLUSTER_LABEL = 'bulwark.dev/postgrescluster';

export interface FailoverRecord {
  kind: 'failover' | 'switchover';
  from: string;
  to: string;
  reason: string;
  at: string;
  /** The old primary's last probed WAL position. */
  oldPrimaryLsn?: string;
  /** The promoted replica's received position when chosen. */
  promotedLsn?: string;
  timeline?: number;
  fencedAt: string;
  promotedAt: string;
}

export interface PostgresCluster extends KubernetesObject {
  spec: Partial<PostgresClusterSpec> & { image?: string; storage?: string };
  status?: {
    observedGeneration?: number;
    phase?: string;
    currentPrimary?: string;
    timeline?: number;
    syncStandbys?: string[];
    pendingRejoin?: string[];
    instances?: Array<{ name: string; role: string; reachable: boolean; lsn?: string; syncState?: string }>;
    lastFailover?: FailoverRecord;
    conditions?: Condition[];
  };
}

/** Everything that gets things done outside the decision logic. */
export interface PostgresClusterDeps {
  writer: KubeWriter;
  driver: InstanceDriver;
  router: Router;
  lease: ClusterLease;
  removeSwitchoverAnnotation(cluster: ClusterRef): Promise<void>;
  now?: () => Date;
  /** Failover and switchover metrics (failoverMetrics()); none when omitted. */
  metrics?: FailoverMetrics;
}

/**
 * How a failover or switchover attempt ended: `completed` (promoted, routed,
 * recorded), `rejected` (a switchover whose target could never qualify),
 * `lease_held` (another operator holds the cluster's lease), `blocked` (no
 * replica qualifies; retried next round, the old primary stays fenced),
 * `failed` (a step threw, e.g. the old primary could not be confirmed stopped;
 * retried next round).
 */
export type FailoverOutcome = 'completed' | 'rejected' | 'lease_held' | 'blocked' | 'failed';

export interface FailoverMetrics {
  attempts: Counter<'cluster' | 'kind' | 'outcome'>;
  /** From the start of an attempt until -rw routes to the promoted instance: the operator's share of the RTO. */
  duration: Histogram<'cluster' | 'kind'>;
}

export function failoverMetrics(registry: Registry): FailoverMetrics {
  return {
    attempts: ensureCounter(registry, {
      name: 'operator_postgrescluster_failovers_total',
      help: 'Failover and switchover attempts, by cluster (namespace/name), kind (failover, switchover) and outcome (completed, rejected, lease_held, blocked, failed).',
      labelNames: ['cluster', 'kind', 'outcome'],
    }),
    duration: ensureHistogram(registry, {
      name: 'operator_postgrescluster_failover_duration_seconds',
      help: 'From the start of a failover or switchover until -rw routes to the promoted instance.',
      labelNames: ['cluster', 'kind'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    }),
  };
}

interface Memory extends ClusterMemory {
  /** Digest of the last Healthy status written. */
  written?: string;
  /** The last round's error, so a persisting one is recorded once. */
  lastError?: string;
}

function specOf(cluster: PostgresCluster): PostgresClusterSpec {
  const s = cluster.spec ?? {};
  return {
    instances: s.instances ?? SPEC_DEFAULTS.instances,
    replication: s.replication ?? SPEC_DEFAULTS.replication,
    maxLagBytes: s.maxLagBytes ?? SPEC_DEFAULTS.maxLagBytes,
    failureThreshold: s.failureThreshold ?? SPEC_DEFAULTS.failureThreshold,
    probeIntervalMs: s.probeIntervalMs ?? SPEC_DEFAULTS.probeIntervalMs,
    probeTimeoutMs: s.probeTimeoutMs ?? SPEC_DEFAULTS.probeTimeoutMs,
  };
}

function refOf(cluster: ClusterRef): CustomRef {
  return { group: POSTGRESCLUSTER.group, version: POSTGRESCLUSTER.version, plural: POSTGRESCLUSTER.plural, namespace: cluster.namespace, name: cluster.name };
}

export function postgresClusterReconciler(deps: PostgresClusterDeps): Reconciler<PostgresCluster> {
  const memories = new Map<string, Memory>();
  return async (key, { obj: cluster, requeueAfter, log }) => {
    if (!cluster) {
      memories.delete(key);
      return;
    }
    const status = cluster.status ?? {};
    const memory: Memory = memories.get(key) ?? {
      currentPrimary: status.currentPrimary,
      failures: 0,
      syncStandbys: status.syncStandbys ?? [],
      pendingRejoin: status.pendingRejoin ?? [],
    };
    memories.set(key, memory);
    const round = new Round(deps, key, cluster, memory, log);
    try {
      if ((await round.run()) === 'stop') return;
      memory.lastError = undefined;
    } catch (error) {
      const message = describeError(error);
      log.warn({ key, err: message }, 'postgrescluster round failed');
      // One Event per distinct error, not one per probe interval.
      if (memory.lastError !== message) await round.event('Warning', 'RoundFailed', message);
      memory.lastError = message;
    }
    requeueAfter(round.spec.probeIntervalMs);
  };
}

/** One reconcile of one cluster: probe, decide, act. */
class Round {
  readonly spec: PostgresClusterSpec;
  readonly #deps: PostgresClusterDeps;
  readonly #key: string;
  readonly #cluster: PostgresCluster;
  readonly #ref: ClusterRef;
  readonly #memory: Memory;
  readonly #log: Logger;
  readonly #status: NonNullable<PostgresCluster['status']>;
  readonly #now: () => Date;
  #instances: InstanceInfo[] = [];
  #credentials = { user: '', password: '' };

  constructor(deps: PostgresClusterDeps, key: string, cluster: PostgresCluster, memory: Memory, log: Logger) {
    this.#deps = deps;
    this.#key = key;
    this.#cluster = cluster;
    const [namespace = '', name = ''] = key.split('/');
    this.#ref = { namespace, name };
    this.#memory = memory;
    this.#log = log;
    this.#status = { ...cluster.status };
    this.#now = deps.now ?? (() => new Date());
    this.spec = specOf(cluster);
  }

  async run(): Promise<'stop' | 'again'> {
    const { driver, router } = this.#deps;
    const spec = this.spec;
    const memory = this.#memory;
    const problems = validateSpec(spec);
    if (problems.length > 0) {
      const message = problems.join('; ');
      if (this.#status.phase !== 'Invalid' || this.#status.observedGeneration !== this.#cluster.metadata?.generation) {
        await this.#patch({ phase: 'Invalid' }, { type: 'Ready', status: 'False', reason: 'InvalidSpec', message });
        await this.event('Warning', 'InvalidSpec', message);
      }
      return 'stop'; // not retried: the user must change the spec
    }
    this.#instances = await driver.instances(this.#ref);
    this.#credentials = await driver.credentials(this.#ref);
    await router.ensure(this.#ref, this.#cluster);
    const probes = await this.#probeAll();
    const decision = decide(spec, memory, probes, this.#cluster.metadata?.annotations?.[SWITCHOVER_ANNOTATION]);
    this.#log.debug({ key: this.#key, decision: decision.kind }, 'postgrescluster decision');
    switch (decision.kind) {
      case 'invalid':
        return 'stop';
      case 'wait':
        if (this.#status.phase !== 'Pending') await this.#patch({ phase: 'Pending' }, { type: 'Ready', status: 'False', reason: 'Waiting', message: decision.reason });
        break;
      case 'bootstrap':
        memory.currentPrimary = decision.primary;
        memory.failures = 0;
        await this.#patch({ currentPrimary: decision.primary });
        await this.event('Normal', 'PrimaryElected', `${decision.primary} is the primary`);
        await this.#healthy(decision.primary, [], probes);
        break;
      case 'suspect':
        memory.failures = decision.failures;
        this.#log.warn({ key: this.#key, primary: memory.currentPrimary, failures: decision.failures, reason: decision.reason }, 'primary probe failed');
        break;
      case 'healthy':
        memory.failures = 0;
        await this.#healthy(memory.currentPrimary ?? '', decision.rejoin, probes);
        break;
      case 'failover':
        await this.#failover('failover', decision.from, decision.reason, undefined, probes);
        break;
      case 'switchover':
        await this.#failover('switchover', decision.from, `switchover requested${decision.to ? ` to ${decision.to}` : ''}`, decision.to, probes);
        break;
    }
    return 'again';
  }

  event(type: 'Normal' | 'Warning', reason: string, note: string): Promise<void> {
    return this.#deps.writer
      .recordEvent(this.#cluster, { type, reason, action: reason, note })
      .catch((error: unknown) => this.#log.warn({ key: this.#key, err: describeError(error) }, 'event not recorded'));
  }

  async #patch(fields: NonNullable<PostgresCluster['status']>, condition?: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>): Promise<void> {
    const generation = this.#cluster.metadata?.generation;
    const conditions = condition ? setCondition(this.#status.conditions, { ...condition, observedGeneration: generation }, this.#now()) : this.#status.conditions;
    Object.assign(this.#status, fields, { conditions, observedGeneration: generation });
    await this.#deps.writer.patchStatus(refOf(this.#ref), { ...fields, observedGeneration: generation, ...(conditions ? { conditions } : {}) });
    // Later rounds start from the informer's copy; keep ours current until the watch event lands.
    this.#cluster.status = { ...this.#status };
  }

  #info(name: string | undefined): InstanceInfo | undefined {
    return this.#instances.find((i) => i.name === name);
  }

  #sql(info: InstanceInfo): Endpoint {
    return this.#deps.driver.sqlEndpoint(info, this.#credentials);
  }

  #probeAll(): Promise<InstanceProbe[]> {
    return Promise.all(this.#instances.map(async (i) => ({ ...(await probeInstance(i.name, this.#sql(i), this.spec.probeTimeoutMs)), alive: i.alive })));
  }

  #replicaInfos(probes: InstanceProbe[], primary: string): InstanceInfo[] {
    return probes
      .filter((p) => p.name !== primary && p.reachable && p.inRecovery === true && !this.#memory.pendingRejoin.includes(p.name))
      .map((p) => this.#info(p.name))
      .filter((i): i is InstanceInfo => i !== undefined);
  }

  /** Primary healthy: record LSN and sync standbys, keep sync config, rejoin returned instances, route. */
  async #healthy(primaryName: string, rejoin: string[], probes: InstanceProbe[]): Promise<void> {
    const { driver, router, lease } = this.#deps;
    const memory = this.#memory;
    const spec = this.spec;
    const primary = probes.find((p) => p.name === primaryName);
    const primaryInfo = this.#info(primaryName);
    if (!primary || !primaryInfo) return;
    memory.lastPrimaryLsn = primary.currentLsn;
    const streaming = primary.replicas ?? [];
    const observedSync = streaming.filter((r) => r.syncState === 'sync').map((r) => r.name);
    const wanted = desiredSyncNames(spec.replication, streaming.length);
    if (wanted === '' && primary.syncNames !== '') {
      // Status first: once commits stop waiting for a standby, no standby may count as synchronous.
      memory.syncStandbys = [];
      await this.#patch({ syncStandbys: [] });
      await setSystem(this.#sql(primaryInfo), spec.probeTimeoutMs, 'synchronous_standby_names', '');
      if (spec.replication === 'sync') await this.event('Warning', 'SynchronousDegraded', 'no standby streams: commits no longer wait for one');
    } else {
      if (wanted !== '' && primary.syncNames !== wanted) await setSystem(this.#sql(primaryInfo), spec.probeTimeoutMs, 'synchronous_standby_names', wanted);
      const recorded = wanted === '' ? [] : observedSync;
      if (recorded.join(',') !== memory.syncStandbys.join(',')) {
        memory.syncStandbys = recorded;
        await this.#patch({ syncStandbys: recorded });
      }
    }

    for (const name of rejoin) {
      const info = this.#info(name);
      if (!info) continue;
      if (!(await lease.acquire(this.#ref))) return;
      if (!memory.pendingRejoin.includes(name)) {
        memory.pendingRejoin = [...memory.pendingRejoin, name];
        await this.#patch({ pendingRejoin: memory.pendingRejoin });
      }
      await this.event('Normal', 'Rejoining', `${name} returned: fencing, pg_rewind onto ${primaryName}, re-attach as replica`);
      await router.route(this.#ref, this.#cluster, primaryInfo, this.#replicaInfos(probes, primaryName));
      await driver.fence(this.#ref, info);
      await driver.rejoin(this.#ref, info, this.#sql(primaryInfo));
      memory.pendingRejoin = memory.pendingRejoin.filter((n) => n !== name);
      await this.#patch({ pendingRejoin: memory.pendingRejoin });
      await this.event('Normal', 'Rejoined', `${name} rewound (pg_rewind) and attached as a replica of ${primaryName}`);
    }
    if (rejoin.length > 0) await this.#releaseLease();

    await router.route(this.#ref, this.#cluster, primaryInfo, this.#replicaInfos(probes, primaryName));
    const summary = probes.map((p) => {
      const entry: { name: string; role: string; reachable: boolean; syncState?: string } = {
        name: p.name,
        role: p.name === primaryName ? 'primary' : memory.pendingRejoin.includes(p.name) ? 'fenced' : p.reachable ? 'replica' : 'unreachable',
        reachable: p.reachable,
      };
      const syncState = streaming.find((r) => r.name === p.name)?.syncState;
      if (syncState) entry.syncState = syncState;
      return entry;
    });
    const digest = JSON.stringify([summary, primary.timeline, this.#cluster.metadata?.generation]);
    if (memory.written !== digest || this.#status.phase !== 'Healthy') {
      memory.written = digest;
      await this.#patch(
        { phase: 'Healthy', currentPrimary: primaryName, timeline: primary.timeline, instances: summary },
        { type: 'Ready', status: 'True', reason: 'PrimaryHealthy', message: `primary ${primaryName}, ${streaming.length} streaming replica(s)` },
      );
    }
  }

  /** Failover or switchover, step by step in failoverSteps() order. */
  async #failover(kind: 'failover' | 'switchover', from: string, reason: string, to: string | undefined, probes: InstanceProbe[]): Promise<void> {
    const started = performance.now();
    let outcome: FailoverOutcome = 'failed'; // unless a step says otherwise: a throw is a failed attempt
    try {
      outcome = await this.#failoverSteps(kind, from, reason, to, probes, started);
    } finally {
      this.#deps.metrics?.attempts.inc({ cluster: this.#key, kind, outcome });
      await this.#releaseLease();
    }
  }

  /** The action is over (done, blocked or failed: its state is in status): the next one need not wait out the cluster Lease. */
  async #releaseLease(): Promise<void> {
    await this.#deps.lease.release(this.#ref).catch((error: unknown) => this.#log.warn({ key: this.#key, err: describeError(error) }, 'cluster lease not released; it expires'));
  }

  async #failoverSteps(kind: 'failover' | 'switchover', from: string, reason: string, to: string | undefined, probes: InstanceProbe[], started: number): Promise<FailoverOutcome> {
    const { driver, router, lease } = this.#deps;
    const memory = this.#memory;
    const spec = this.spec;
    const old = this.#info(from);
    const oldLsn = memory.lastPrimaryLsn;
    if (kind === 'switchover') {
      // Refuse before touching a healthy primary if the target could never qualify.
      const pre = chooseCandidate({ replicas: probes.filter((p) => p.name !== from), maxLagBytes: spec.maxLagBytes, replication: spec.replication, syncStandbys: memory.syncStandbys, only: to });
      if (pre.name === undefined) {
        await this.event('Warning', 'SwitchoverRejected', `${pre.reason}: ${pre.rejected.map((r) => `${r.name}: ${r.reason}`).join('; ')}`);
        await this.#deps.removeSwitchoverAnnotation(this.#ref);
        return 'rejected';
      }
    }
    let fencedAt = '';
    let candidate: { name: string; lsn: bigint } | undefined;
    let next: InstanceInfo | undefined;
    let timeline: number | undefined;
    for (const step of failoverSteps()) {
      switch (step) {
        case 'acquireLease':
          if (!(await lease.acquire(this.#ref))) {
            this.#log.warn({ key: this.#key }, 'cluster lease held elsewhere: not acting');
            return 'lease_held';
          }
          break;
        case 'unrouteOldPrimary':
          await router.route(this.#ref, this.#cluster, undefined, this.#replicaInfos(probes, from));
          if (!memory.pendingRejoin.includes(from)) memory.pendingRejoin = [...memory.pendingRejoin, from];
          await this.#patch({ phase: kind === 'failover' ? 'FailingOver' : 'SwitchingOver', pendingRejoin: memory.pendingRejoin });
          break;
        case 'stopOldPrimary':
          if (old) await driver.fence(this.#ref, old); // throws unless confirmed: then nothing is promoted
          fencedAt = this.#now().toISOString();
          await this.event('Normal', 'Fenced', `${from} removed from ${this.#ref.name}-rw and stopped (${reason})`);
          break;
        case 'probeReplicas':
          probes = await this.#probeAll();
          break;
        case 'chooseCandidate': {
          const choice = chooseCandidate({
            replicas: probes.filter((p) => p.name !== from),
            lastPrimaryLsn: oldLsn,
            maxLagBytes: spec.maxLagBytes,
            replication: spec.replication,
            syncStandbys: memory.syncStandbys,
            only: kind === 'switchover' ? to : undefined,
          });
          if (choice.name === undefined) {
            const note = `${choice.reason}: ${choice.rejected.map((r) => `${r.name}: ${r.reason}`).join('; ')}`;
            if (this.#status.phase !== 'FailoverBlocked') {
              await this.#patch({ phase: 'FailoverBlocked' }, { type: 'Ready', status: 'False', reason: 'FailoverBlocked', message: note });
              await this.event('Warning', 'FailoverBlocked', note);
            }
            return 'blocked'; // retried next round; the old primary stays fenced
          }
          candidate = choice;
          next = this.#info(choice.name);
          break;
        }
        case 'promote': {
          if (!candidate || !next) return 'failed';
          if (!(await promote(this.#sql(next), 30_000))) throw new Error(`pg_promote on ${candidate.name} did not finish`);
          const after = await probeInstance(next.name, this.#sql(next), spec.probeTimeoutMs);
          timeline = after.timeline;
          memory.currentPrimary = candidate.name;
          memory.failures = 0;
          memory.syncStandbys = [];
          memory.lastPrimaryLsn = after.currentLsn;
          await this.#patch({ currentPrimary: candidate.name, timeline, syncStandbys: [] });
          break;
        }
        case 'routeNewPrimary':
          if (!next) return 'failed';
          await router.route(this.#ref, this.#cluster, next, []);
          this.#deps.metrics?.duration.observe({ cluster: this.#key, kind }, (performance.now() - started) / 1000);
          break;
        case 'repointReplicas':
          if (!next) return 'failed';
          for (const p of probes) {
            const info = this.#info(p.name);
            if (!info || p.name === from || p.name === next.name || !p.reachable) continue;
            await setSystem(this.#sql(info), spec.probeTimeoutMs, 'primary_conninfo', conninfo(this.#sql(next), p.name)).catch((error: unknown) =>
              this.#log.warn({ key: this.#key, replica: p.name, err: describeError(error) }, 'repoint failed; it rejoins later'),
            );
          }
          break;
        case 'recordStatus': {
          if (!candidate || !next) return 'failed';
          const record: FailoverRecord = { kind, from, to: candidate.name, reason, at: this.#now().toISOString(), promotedLsn: formatLsn(candidate.lsn), fencedAt, promotedAt: this.#now().toISOString() };
          if (oldLsn !== undefined) record.oldPrimaryLsn = formatLsn(oldLsn);
          if (timeline !== undefined) record.timeline = timeline;
          await this.#patch(
            { phase: 'Healthy', lastFailover: record },
            { type: 'Ready', status: 'True', reason: kind === 'failover' ? 'FailedOver' : 'SwitchedOver', message: `${candidate.name} promoted (timeline ${timeline ?? '?'}): ${reason}` },
          );
          await this.event(
            'Normal',
            kind === 'failover' ? 'FailedOver' : 'SwitchedOver',
            `${from} -> ${candidate.name}: ${reason}; old primary last LSN ${record.oldPrimaryLsn ?? 'unknown'}, promoted at received LSN ${record.promotedLsn}, timeline ${timeline ?? '?'}`,
          );
          if (kind === 'switchover') await this.#deps.removeSwitchoverAnnotation(this.#ref);
          break;
        }
      }
    }
    return 'completed';
  }
}

/** Keeps `<name>-rw` on the primary (or on nothing while fencing) and `<name>-ro` on the replicas. */
export interface Router {
  /** Creates what routing needs (Services, and in the cluster the StatefulSet). Idempotent. */
  ensure(cluster: ClusterRef, owner: PostgresCluster): Promise<void>;
  route(cluster: ClusterRef, owner: PostgresCluster, primary: InstanceInfo | undefined, replicas: InstanceInfo[]): Promise<void>;
}

/**
 * Selector-less Services whose EndpointSlices the operator writes: for
 * instances that are not Pods (local processes in tests and the bench).
 * EndpointSlices reject loopback addresses, so instances need a routable one.
 */
export class EndpointSliceRouter implements Router {
  readonly #writer: KubeWriter;
  readonly #last = new Map<string, string>();

  constructor(writer: KubeWriter) {
    this.#writer = writer;
  }

  async ensure(cluster: ClusterRef, owner: PostgresCluster): Promise<void> {
    if (this.#last.has(`${cluster.namespace}/${cluster.name}/services`)) return;
    for (const role of ['rw', 'ro']) {
      await this.#writer.applyOwned(
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: `${cluster.name}-${role}`, namespace: cluster.namespace, labels: { [CLUSTER_LABEL]: cluster.name } },
          spec: { ports: [{ name: 'postgres', port: 5432, protocol: 'TCP' }] },
        } as KubernetesObject,
        owner,
      );
    }
    this.#last.set(`${cluster.namespace}/${cluster.name}/services`, 'done');
  }

  async route(cluster: ClusterRef, owner: PostgresCluster, primary: InstanceInfo | undefined, replicas: InstanceInfo[]): Promise<void> {
    await this.#slice(cluster, owner, 'rw', primary ? [primary] : []);
    await this.#slice(cluster, owner, 'ro', replicas);
  }

  async #slice(cluster: ClusterRef, owner: PostgresCluster, role: string, targets: InstanceInfo[]): Promise<void> {
    const port = targets[0]?.port ?? 5432;
    const digest = JSON.stringify(targets.map((t) => [t.name, t.host, t.port]));
    const key = `${cluster.namespace}/${cluster.name}/${role}`;
    if (this.#last.get(key) === digest) return;
    await this.#writer.applyOwned(
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${cluster.name}-${role}`,
          namespace: cluster.namespace,
          labels: { 'kubernetes.io/service-name': `${cluster.name}-${role}`, 'endpointslice.kubernetes.io/managed-by': 'bulwark.dev-platform-operator', [CLUSTER_LABEL]: cluster.name },
        },
        addressType: 'IPv4',
        ports: [{ name: 'postgres', port, protocol: 'TCP' }],
        endpoints: targets.map((t) => ({ addresses: [t.host], conditions: { ready: true }, targetRef: { kind: 'Instance', name: t.name } })),
      } as KubernetesObject,
      owner,
    );
    this.#last.set(key, digest);
  }
}

/**
 * In the cluster: a StatefulSet shaped like manifests/data/postgres.yaml,
 * Services selecting on the role label, and the primary Pod labelled
 * `bulwark.dev/role=primary` (replicas `replica`; a fenced Pod loses the label
 * before anything else happens).
 */
export class PodLabelRouter implements Router {
  readonly #writer: KubeWriter;
  readonly #core: CoreV1Api;

  constructor(kc: KubeConfig, writer: KubeWriter) {
    this.#writer = writer;
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  readonly #applied = new Map<string, string>();

  async ensure(cluster: ClusterRef, owner: PostgresCluster): Promise<void> {
    // Applied once per spec generation (and again after a restart of the operator), not every probe round.
    const key = `${cluster.namespace}/${cluster.name}`;
    const version = `${owner.metadata?.uid}/${owner.metadata?.generation}`;
    if (this.#applied.get(key) === version) return;
    for (const object of clusterObjects(cluster, owner)) await this.#writer.applyOwned(object, owner);
    this.#applied.set(key, version);
  }

  async route(cluster: ClusterRef, _owner: PostgresCluster, primary: InstanceInfo | undefined, replicas: InstanceInfo[]): Promise<void> {
    const pods = await this.#core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: `${CLUSTER_LABEL}=${cluster.name}` });
    // Removals first: there is never a moment with two Pods labelled primary.
    const desired = new Map<string, string | null>();
    for (const pod of pods.items) desired.set(pod.metadata?.name ?? '', null);
    for (const r of replicas) desired.set(r.name, 'replica');
    if (primary) desired.set(primary.name, 'primary');
    const ordered = [...desired.entries()].sort(([, a], [, b]) => (a === 'primary' ? 1 : 0) - (b === 'primary' ? 1 : 0));
    for (const [name, role] of ordered) {
      const pod = pods.items.find((p) => p.metadata?.name === name);
      if (!pod || (pod.metadata?.labels?.[ROLE_LABEL] ?? null) === role) continue;
      await this.#core.patchNamespacedPod(
        { name, namespace: cluster.namespace, body: { metadata: { labels: { [ROLE_LABEL]: role } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
  }
}

/** The StatefulSet and the two Services of a cluster (same shape as manifests/data/postgres.yaml). */
export function clusterObjects(cluster: ClusterRef, owner: PostgresCluster): KubernetesObject[] {
  const spec = specOf(owner);
  const labels = { 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/part-of': 'bulwark', [CLUSTER_LABEL]: cluster.name };
  const service = (role: 'rw' | 'ro'): KubernetesObject =>
    ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${cluster.name}-${role}`, namespace: cluster.namespace, labels },
      spec: { selector: { [CLUSTER_LABEL]: cluster.name, [ROLE_LABEL]: role === 'rw' ? 'primary' : 'replica' }, ports: [{ name: 'postgres', port: 5432, targetPort: 'postgres' }] },
    }) as KubernetesObject;
  const statefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: cluster.name, namespace: cluster.namespace, labels },
    spec: {
      serviceName: cluster.name,
      replicas: spec.instances,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { [CLUSTER_LABEL]: cluster.name } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 60,
          securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'postgres',
              image: owner.spec.image ?? 'postgres:15.13',
              command: ['/bin/sh', '-c', ENTRYPOINT],
              envFrom: [{ secretRef: { name: `${cluster.name}-credentials` } }],
              env: [
                { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'RW_HOST', value: `${cluster.name}-rw` },
              ],
              ports: [{ name: 'postgres', containerPort: 5432 }],
              readinessProbe: { exec: { command: ['pg_isready', '-U', 'postgres'] }, periodSeconds: 5 },
              resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'data', mountPath: '/var/lib/postgresql/data' },
                { name: 'run', mountPath: '/var/run/postgresql' },
                { name: 'podinfo', mountPath: '/etc/podinfo' },
              ],
            },
          ],
          volumes: [
            { name: 'run', emptyDir: {} },
            { name: 'podinfo', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
          ],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: owner.spec.storage ?? '2Gi' } } } }],
    },
  } as KubernetesObject;
  return [service('rw'), service('ro'), statefulSet];
}

/**
 * Container entrypoint: a Pod never starts as a primary on its own. A fresh
 * volume is initdb'd only by ordinal 0 when no -rw primary answers, else
 * cloned with pg_basebackup; an existing volume starts as a standby (rewound
 * with pg_rewind onto the -rw primary) unless the operator labelled this Pod
 * primary. The operator promotes with pg_promote.
 */
const ENTRYPOINT = [
  'set -eu',
  'export PGPASSWORD="$POSTGRES_PASSWORD"',
  'role=$(sed -n \'s/^bulwark.dev\\/role="\\(.*\\)"$/\\1/p\' /etc/podinfo/labels 2>/dev/null || true)',
  'if [ ! -s "$PGDATA/PG_VERSION" ]; then',
  '  if [ "${POD_NAME##*-}" = 0 ] && ! pg_isready -q -h "$RW_HOST"; then exec docker-entrypoint.sh postgres -c wal_level=replica -c wal_log_hints=on -c hot_standby=on; fi',
  '  until pg_basebackup -h "$RW_HOST" -U postgres -D "$PGDATA" -X stream -c fast -R; do sleep 2; done',
  'elif [ "$role" != primary ]; then',
  '  psql -h "$RW_HOST" -U postgres -d postgres -c checkpoint || true',
  '  if ! pg_rewind --target-pgdata "$PGDATA" --source-server "host=$RW_HOST user=postgres dbname=postgres" -R; then',
  '    rm -rf "$PGDATA"; until pg_basebackup -h "$RW_HOST" -U postgres -D "$PGDATA" -X stream -c fast -R; do sleep 2; done',
  '  fi',
  '  touch "$PGDATA/standby.signal"',
  'fi',
  'echo "primary_conninfo = \'host=$RW_HOST user=postgres password=$POSTGRES_PASSWORD application_name=$POD_NAME\'" >> "$PGDATA/postgresql.auto.conf"',
  'exec postgres -c wal_level=replica -c wal_log_hints=on -c hot_standby=on',
].join('\n');

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

  /** Gives the Lease up if this operator holds it; a Lease changed by someone else meanwhile is left alone. */
  async release(cluster: ClusterRef): Promise<void> {
    try {
      await this.#lock(cluster).release();
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 409)) throw error;
    }
  }
}

/**
 * In the cluster: instances are the StatefulSet's Pods (address = Pod IP,
 * host view = Pod phase/readiness and deletion), credentials come from the
 * `<name>-credentials` Secret, fencing deletes the Pod (kubelet stops
 * PostgreSQL; the entrypoint restarts it as a standby), rejoin deletes it so
 * the entrypoint rewinds it.
 */
export class KubernetesDriver implements InstanceDriver {
  readonly #core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  async instances(cluster: ClusterRef): Promise<InstanceInfo[]> {
    const pods = await this.#core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: `${CLUSTER_LABEL}=${cluster.name}` });
    return pods.items.map((pod) => ({
      name: pod.metadata?.name ?? '',
      host: pod.status?.podIP ?? '',
      port: 5432,
      alive: !pod.metadata?.deletionTimestamp && pod.status?.phase === 'Running' ? true : pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded' ? false : undefined,
    }));
  }

  async credentials(cluster: ClusterRef): Promise<{ user: string; password: string }> {
    const secret = await this.#core.readNamespacedSecret({ name: `${cluster.name}-credentials`, namespace: cluster.namespace });
    const password = Buffer.from(secret.data?.POSTGRES_PASSWORD ?? '', 'base64').toString('utf8');
    return { user: 'postgres', password };
  }

  sqlEndpoint(instance: InstanceInfo, credentials: { user: string; password: string }): Endpoint {
    return { host: instance.host, port: instance.port, ...credentials };
  }

  async fence(cluster: ClusterRef, instance: InstanceInfo): Promise<void> {
    await this.#core.deleteNamespacedPod({ name: instance.name, namespace: cluster.namespace, gracePeriodSeconds: 10 }).catch((error: unknown) => {
      if (!(error instanceof ApiException && error.code === 404)) throw error;
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const pod = await this.#core.readNamespacedPod({ name: instance.name, namespace: cluster.namespace }).catch(() => undefined);
      // Gone, or replaced by a new Pod (new uid) that starts as a standby.
      if (!pod || !pod.metadata?.deletionTimestamp) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`pod ${instance.name} not gone after 30 s: not fenced`);
  }

  async rejoin(cluster: ClusterRef, instance: InstanceInfo): Promise<void> {
    await this.fence(cluster, instance);
  }
}

/** The PostgresCluster controller, watching one namespace or (namespace undefined) all. */
export function postgresClusterController(options: {
  kc: KubeConfig;
  identity: string;
  namespace?: string;
  registry: Registry;
  log?: Logger;
  /** Local processes instead of Pods (tests, bench): pass a LocalDriver and routing goes through EndpointSlices. */
  driver?: InstanceDriver;
}): Controller<PostgresCluster> {
  const { kc, namespace } = options;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const writer = new KubeWriter(kc, options.identity);
  const base = `/apis/${POSTGRESCLUSTER.group}/${POSTGRESCLUSTER.version}`;
  const informer = new Informer<PostgresCluster>({
    name: 'postgresclusters',
    kc,
    path: namespace ? `${base}/namespaces/${namespace}/${POSTGRESCLUSTER.plural}` : `${base}/${POSTGRESCLUSTER.plural}`,
    list: () =>
      namespace
        ? custom.listNamespacedCustomObject({ group: POSTGRESCLUSTER.group, version: POSTGRESCLUSTER.version, plural: POSTGRESCLUSTER.plural, namespace })
        : custom.listClusterCustomObject({ group: POSTGRESCLUSTER.group, version: POSTGRESCLUSTER.version, plural: POSTGRESCLUSTER.plural }),
    registry: options.registry,
    log: options.log,
  });
  const driver = options.driver ?? new KubernetesDriver(kc);
  const router = options.driver ? new EndpointSliceRouter(writer) : new PodLabelRouter(kc, writer);
  return new Controller<PostgresCluster>({
    name: 'postgrescluster',
    informer,
    reconcile: postgresClusterReconciler({
      writer,
      driver,
      router,
      lease: new ClusterLease(kc, options.identity),
      metrics: failoverMetrics(options.registry),
      removeSwitchoverAnnotation: async (cluster) => {
        await custom.patchNamespacedCustomObject(
          { ...refOf(cluster), body: { metadata: { annotations: { [SWITCHOVER_ANNOTATION]: null } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      },
    }),
    concurrency: 4,
    registry: options.registry,
    log: options.log,
  });
}
