/**
 * The PostgresCluster reconciler: every probeIntervalMs one reconciliation
 * probes every instance, asks the policy (postgrescluster-policy.ts) for the
 * action, and carries it out: keeps `<name>-rw` on the primary and `<name>-ro`
 * on the streaming replicas, keeps synchronous replication configured, rejoins
 * returned former primaries (rewound, re-attached as replicas), and hands a
 * failover or switchover (annotation `bulwark.dev/switchover-to`) to
 * postgrescluster-failover.ts.
 */
import type { Reconciler } from '../controller.ts';
import { type Condition, type KubeWriter, setCondition } from '../kube.ts';
import { describeError, type Logger } from '../log.ts';
import type { ClusterRef, InstanceDriver, InstanceInfo } from '../postgres/driver.ts';
import { type Endpoint, probeInstance, setSystem } from '../postgres/sql.ts';
import { type FailoverMetrics, failOver } from './postgrescluster-failover.ts';
import type { ClusterLease } from './postgrescluster-lease.ts';
import { type ClusterHistory, chooseAction, desiredSyncNames, type InstanceProbe, type PostgresClusterSpec, validateSpec } from './postgrescluster-policy.ts';
import { customRefOf, type PostgresCluster, specOf, SWITCHOVER_ANNOTATION } from './postgrescluster-resource.ts';
import type { Router } from './postgrescluster-routers.ts';

/** Everything that gets things done outside the policy (postgrescluster-policy.ts). */
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

/** What the reconciler keeps per cluster between reconciliations. */
export interface ReconcilerState extends ClusterHistory {
  /** Digest of the last Healthy status written. */
  written?: string;
  /** The last reconciliation's error, so a persisting one is recorded once. */
  lastError?: string;
  /** The incarnation (Pod uid) of the primary when it was last seen healthy or promoted. */
  primaryUid?: string;
}

export function postgresClusterReconciler(deps: PostgresClusterDeps): Reconciler<PostgresCluster> {
  const states = new Map<string, ReconcilerState>();
  return async (key, { obj: cluster, requeueAfter, log }) => {
    if (!cluster) {
      states.delete(key);
      return;
    }
    const status = cluster.status ?? {};
    const state: ReconcilerState = states.get(key) ?? {
      currentPrimary: status.currentPrimary,
      failures: 0,
      syncStandbys: status.syncStandbys ?? [],
      pendingRejoin: status.pendingRejoin ?? [],
    };
    states.set(key, state);
    const reconciliation = new ClusterReconciliation(deps, key, cluster, state, log);
    try {
      if ((await reconciliation.run()) === 'stop') return;
      state.lastError = undefined;
    } catch (error) {
      const message = describeError(error);
      log.warn({ key, err: message }, 'postgrescluster reconciliation failed');
      // One Event per distinct error, not one per probe interval.
      if (state.lastError !== message) await reconciliation.event('Warning', 'RoundFailed', message);
      state.lastError = message;
    }
    requeueAfter(reconciliation.spec.probeIntervalMs);
  };
}

/**
 * One reconciliation of one cluster: probe every instance, choose the action
 * (postgrescluster-policy.ts), carry it out. Healthy upkeep and rejoins are
 * here; failover and switchover are postgrescluster-failover.ts, which uses
 * the helpers this exposes.
 */
export class ClusterReconciliation {
  readonly spec: PostgresClusterSpec;
  readonly deps: PostgresClusterDeps;
  readonly key: string;
  readonly cluster: PostgresCluster;
  readonly ref: ClusterRef;
  /** What this operator knows about the cluster from earlier reconciliations. */
  readonly state: ReconcilerState;
  readonly log: Logger;
  /** The status as this reconciliation has written it so far. */
  readonly status: NonNullable<PostgresCluster['status']>;
  readonly now: () => Date;
  #instances: InstanceInfo[] = [];
  #credentials = { user: '', password: '' };

  constructor(deps: PostgresClusterDeps, key: string, cluster: PostgresCluster, state: ReconcilerState, log: Logger) {
    this.deps = deps;
    this.key = key;
    this.cluster = cluster;
    const [namespace = '', name = ''] = key.split('/');
    this.ref = { namespace, name };
    this.state = state;
    this.log = log;
    this.status = { ...cluster.status };
    this.now = deps.now ?? (() => new Date());
    this.spec = specOf(cluster);
  }

  async run(): Promise<'stop' | 'again'> {
    const { driver, router } = this.deps;
    const spec = this.spec;
    const state = this.state;
    const problems = validateSpec(spec);
    if (problems.length > 0) {
      const message = problems.join('; ');
      if (this.status.phase !== 'Invalid' || this.status.observedGeneration !== this.cluster.metadata?.generation) {
        await this.patch({ phase: 'Invalid' }, { type: 'Ready', status: 'False', reason: 'InvalidSpec', message });
        await this.event('Warning', 'InvalidSpec', message);
      }
      return 'stop'; // not retried: the user must change the spec
    }
    this.#instances = await driver.instances(this.ref);
    this.#credentials = await driver.credentials(this.ref);
    await router.ensure(this.ref, this.cluster);
    const probes = await this.probeAll();
    const action = chooseAction(spec, state, probes, this.cluster.metadata?.annotations?.[SWITCHOVER_ANNOTATION]);
    this.log.debug({ key: this.key, action: action.kind }, 'postgrescluster action');
    switch (action.kind) {
      case 'invalid':
        return 'stop';
      case 'wait':
        if (this.status.phase !== 'Pending') await this.patch({ phase: 'Pending' }, { type: 'Ready', status: 'False', reason: 'Waiting', message: action.reason });
        break;
      case 'bootstrap':
        state.currentPrimary = action.primary;
        state.failures = 0;
        await this.patch({ currentPrimary: action.primary });
        await this.event('Normal', 'PrimaryElected', `${action.primary} is the primary`);
        await this.#healthy(action.primary, [], probes);
        break;
      case 'suspect':
        state.failures = action.failures;
        this.log.warn({ key: this.key, primary: state.currentPrimary, failures: action.failures, reason: action.reason }, 'primary probe failed');
        break;
      case 'healthy':
        state.failures = 0;
        await this.#healthy(state.currentPrimary ?? '', action.rejoin, probes);
        break;
      case 'failover':
        await failOver(this, 'failover', action.from, action.reason, undefined, probes);
        break;
      case 'switchover':
        await failOver(this, 'switchover', action.from, `switchover requested${action.to ? ` to ${action.to}` : ''}`, action.to, probes);
        break;
    }
    return 'again';
  }

  event(type: 'Normal' | 'Warning', reason: string, note: string): Promise<void> {
    return this.deps.writer
      .recordEvent(this.cluster, { type, reason, action: reason, note })
      .catch((error: unknown) => this.log.warn({ key: this.key, err: describeError(error) }, 'event not recorded'));
  }

  async patch(fields: NonNullable<PostgresCluster['status']>, condition?: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>): Promise<void> {
    const generation = this.cluster.metadata?.generation;
    const conditions = condition ? setCondition(this.status.conditions, { ...condition, observedGeneration: generation }, this.now()) : this.status.conditions;
    Object.assign(this.status, fields, { conditions, observedGeneration: generation });
    await this.deps.writer.patchStatus(customRefOf(this.ref), { ...fields, observedGeneration: generation, ...(conditions ? { conditions } : {}) });
    // Later reconciliations start from the informer's copy; keep ours current until the watch event lands.
    this.cluster.status = { ...this.status };
  }

  info(name: string | undefined): InstanceInfo | undefined {
    return this.#instances.find((i) => i.name === name);
  }

  sql(info: InstanceInfo): Endpoint {
    return this.deps.driver.sqlEndpoint(info, this.#credentials);
  }

  /** Probes every instance but `except` (a fenced one, whose address may swallow packets until the probe's timeout). */
  probeAll(except?: string): Promise<InstanceProbe[]> {
    const instances = this.#instances.filter((i) => i.name !== except);
    return Promise.all(instances.map(async (i) => ({ ...(await probeInstance(i.name, this.sql(i), this.spec.probeTimeoutMs)), alive: this.#alive(i) })));
  }

  /**
   * Host view of an instance. The primary's name under another incarnation than the one seen healthy
   * (its Pod deleted and already replaced by one that starts as a standby) is the known primary gone:
   * a failed probe of it is final, no need for failureThreshold of them.
   */
  #alive(instance: InstanceInfo): boolean | undefined {
    const known = this.state.primaryUid;
    if (instance.name === this.state.currentPrimary && known !== undefined && instance.uid !== undefined && instance.uid !== known) return false;
    return instance.alive;
  }

  replicaInfos(probes: InstanceProbe[], primary: string): InstanceInfo[] {
    return probes
      .filter((p) => p.name !== primary && p.reachable && p.inRecovery === true && !this.state.pendingRejoin.includes(p.name))
      .map((p) => this.info(p.name))
      .filter((i): i is InstanceInfo => i !== undefined);
  }

  /** Primary healthy: record LSN and sync standbys, keep sync config, rejoin returned instances, route. */
  async #healthy(primaryName: string, rejoin: string[], probes: InstanceProbe[]): Promise<void> {
    const { driver, router, lease } = this.deps;
    const state = this.state;
    const spec = this.spec;
    const primary = probes.find((p) => p.name === primaryName);
    const primaryInfo = this.info(primaryName);
    if (!primary || !primaryInfo) return;
    state.lastPrimaryLsn = primary.currentLsn;
    state.primaryUid = primaryInfo.uid;
    const streaming = primary.replicas ?? [];
    const observedSync = streaming.filter((r) => r.syncState === 'sync').map((r) => r.name);
    const wanted = desiredSyncNames(spec.replication, streaming.length);
    if (wanted === '' && primary.syncNames !== '') {
      // Status first: once commits stop waiting for a standby, no standby may count as synchronous.
      state.syncStandbys = [];
      await this.patch({ syncStandbys: [] });
      await setSystem(this.sql(primaryInfo), spec.probeTimeoutMs, 'synchronous_standby_names', '');
      if (spec.replication === 'sync') await this.event('Warning', 'SynchronousDegraded', 'no standby streams: commits no longer wait for one');
    } else {
      if (wanted !== '' && primary.syncNames !== wanted) await setSystem(this.sql(primaryInfo), spec.probeTimeoutMs, 'synchronous_standby_names', wanted);
      const recorded = wanted === '' ? [] : observedSync;
      if (recorded.join(',') !== state.syncStandbys.join(',')) {
        state.syncStandbys = recorded;
        await this.patch({ syncStandbys: recorded });
      }
    }

    try {
      for (const name of rejoin) {
        const info = this.info(name);
        if (!info) continue;
        if (!(await lease.acquire(this.ref))) return;
        if (!state.pendingRejoin.includes(name)) {
          state.pendingRejoin = [...state.pendingRejoin, name];
          await this.patch({ pendingRejoin: state.pendingRejoin });
        }
        await this.event('Normal', 'Rejoining', `${name} returned: fencing, pg_rewind onto ${primaryName}, re-attach as replica`);
        await router.route(this.ref, this.cluster, primaryInfo, this.replicaInfos(probes, primaryName));
        await driver.fence(this.ref, info);
        await driver.rejoin(this.ref, info, this.sql(primaryInfo));
        state.pendingRejoin = state.pendingRejoin.filter((n) => n !== name);
        await this.patch({ pendingRejoin: state.pendingRejoin });
        await this.event('Normal', 'Rejoined', `${name} rewound (pg_rewind) and attached as a replica of ${primaryName}`);
      }
    } finally {
      // Also when a step threw: a Lease kept until it expires would hold off the next failover for its duration.
      if (rejoin.length > 0) await this.releaseLease();
    }
    // Read the cluster Lease while healthy: a holder that died holding it is then waited out from now,
    // not from the moment a failover first needs it (seconds of RTO otherwise).
    await lease.observe(this.ref).catch((error: unknown) => this.log.debug({ key: this.key, err: describeError(error) }, 'cluster lease not read'));

    await router.route(this.ref, this.cluster, primaryInfo, this.replicaInfos(probes, primaryName));
    const summary = probes.map((p) => {
      const entry: { name: string; role: string; reachable: boolean; syncState?: string } = {
        name: p.name,
        role: p.name === primaryName ? 'primary' : state.pendingRejoin.includes(p.name) ? 'fenced' : p.reachable ? 'replica' : 'unreachable',
        reachable: p.reachable,
      };
      const syncState = streaming.find((r) => r.name === p.name)?.syncState;
      if (syncState) entry.syncState = syncState;
      return entry;
    });
    const digest = JSON.stringify([summary, primary.timeline, this.cluster.metadata?.generation]);
    if (state.written !== digest || this.status.phase !== 'Healthy') {
      state.written = digest;
      await this.patch(
        { phase: 'Healthy', currentPrimary: primaryName, timeline: primary.timeline, instances: summary },
        { type: 'Ready', status: 'True', reason: 'PrimaryHealthy', message: `primary ${primaryName}, ${streaming.length} streaming replica(s)` },
      );
    }
  }

  /** The action is over (done, blocked or failed: its state is in status): the next one need not wait out the cluster Lease. */
  async releaseLease(): Promise<void> {
    await this.deps.lease.release(this.ref).catch((error: unknown) => this.log.warn({ key: this.key, err: describeError(error) }, 'cluster lease not released; it expires'));
  }
}
