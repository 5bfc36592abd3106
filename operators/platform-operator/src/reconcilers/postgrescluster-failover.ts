/**
 * A failover or switchover of one PostgresCluster, in the order of
 * `failoverSteps()`: hold the cluster's Lease, fence the old primary (off -rw,
 * then stopped), probe again, choose the replica, pg_promote it, route -rw to
 * it, repoint the other replicas, record it. Every attempt is counted by
 * outcome; a completed one is timed until -rw routes to the promoted instance.
 */
import type { Counter, Histogram } from 'prom-client';
import { ensureCounter, ensureHistogram, type Registry } from '@bulwark/service-kit/metrics';
import { describeError } from '../log.ts';
import type { InstanceInfo } from '../postgres/driver.ts';
import { formatLsn } from '../postgres/lsn.ts';
import { conninfo, type Endpoint, probeInstance, promote, setSystem } from '../postgres/sql.ts';
import { chooseCandidate, type FailoverStep, failoverSteps, type InstanceProbe } from './postgrescluster-policy.ts';
import type { ClusterReconciliation } from './postgrescluster-reconciliation.ts';
import type { FailoverRecord } from './postgrescluster-resource.ts';

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

/** Longest pg_promote may take, and the probe of the promoted instance after it. */
const PROMOTE_TIMEOUT_MS = 30_000;

/**
 * The promoted instance's timeline and WAL position. pg_promote has returned, so it answers; a probe
 * that times out on a loaded host is tried again until `deadlineMs`, rather than recording the
 * failover without its timeline and the next one without the new primary's position.
 */
async function probePromoted(name: string, endpoint: Endpoint, probeTimeoutMs: number, deadlineMs: number): Promise<InstanceProbe> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const probe = await probeInstance(name, endpoint, probeTimeoutMs);
    if ((probe.reachable && probe.timeline !== undefined) || Date.now() >= deadline) return probe;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Failover or switchover, step by step in failoverSteps() order; counted and timed, the cluster Lease released at the end. */
export async function failOver(rc: ClusterReconciliation, kind: 'failover' | 'switchover', from: string, reason: string, to: string | undefined, probes: InstanceProbe[]): Promise<void> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  // ms from the start of the attempt at which each step ended: the breakdown of the operator's share of the RTO.
  const stepsMs: Partial<Record<FailoverStep, number>> = {};
  let outcome: FailoverOutcome = 'failed'; // unless a step says otherwise: a throw is a failed attempt
  try {
    outcome = await runSteps(rc, kind, from, reason, to, probes, started, (step) => {
      stepsMs[step] = Math.round(performance.now() - started);
    });
  } finally {
    rc.deps.metrics?.attempts.inc({ cluster: rc.key, kind, outcome });
    await rc.releaseLease();
    rc.log.info({ key: rc.key, kind, from, reason, outcome, startedAt, stepsMs }, 'failover attempt timed');
  }
}

async function runSteps(
  rc: ClusterReconciliation,
  kind: 'failover' | 'switchover',
  from: string,
  reason: string,
  to: string | undefined,
  probes: InstanceProbe[],
  started: number,
  stepDone: (step: FailoverStep) => void,
): Promise<FailoverOutcome> {
  const { driver, router, lease } = rc.deps;
  const state = rc.state;
  const spec = rc.spec;
  const old = rc.info(from);
  const oldLsn = state.lastPrimaryLsn;
  if (kind === 'switchover') {
    // Refuse before touching a healthy primary if the target could never qualify.
    const pre = chooseCandidate({ replicas: probes.filter((p) => p.name !== from), maxLagBytes: spec.maxLagBytes, replication: spec.replication, syncStandbys: state.syncStandbys, only: to });
    if (pre.name === undefined) {
      await rc.event('Warning', 'SwitchoverRejected', `${pre.reason}: ${pre.rejected.map((r) => `${r.name}: ${r.reason}`).join('; ')}`);
      await rc.deps.removeSwitchoverAnnotation(rc.ref);
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
        if (!(await lease.acquire(rc.ref))) {
          rc.log.warn({ key: rc.key }, 'cluster lease held elsewhere: not acting');
          return 'lease_held';
        }
        break;
      case 'unrouteOldPrimary':
        await router.route(rc.ref, rc.cluster, undefined, rc.replicaInfos(probes, from));
        if (!state.pendingRejoin.includes(from)) state.pendingRejoin = [...state.pendingRejoin, from];
        await rc.patch({ phase: kind === 'failover' ? 'FailingOver' : 'SwitchingOver', pendingRejoin: state.pendingRejoin });
        break;
      case 'stopOldPrimary':
        if (old) await driver.fence(rc.ref, old); // throws unless confirmed: then nothing is promoted
        fencedAt = rc.now().toISOString();
        await rc.event('Normal', 'Fenced', `${from} removed from ${rc.ref.name}-rw and stopped (${reason})`);
        break;
      case 'probeReplicas':
        probes = await rc.probeAll(from);
        break;
      case 'chooseCandidate': {
        const choice = chooseCandidate({
          replicas: probes.filter((p) => p.name !== from),
          lastPrimaryLsn: oldLsn,
          maxLagBytes: spec.maxLagBytes,
          replication: spec.replication,
          syncStandbys: state.syncStandbys,
          only: kind === 'switchover' ? to : undefined,
        });
        if (choice.name === undefined) {
          const note = `${choice.reason}: ${choice.rejected.map((r) => `${r.name}: ${r.reason}`).join('; ')}`;
          if (rc.status.phase !== 'FailoverBlocked') {
            await rc.patch({ phase: 'FailoverBlocked' }, { type: 'Ready', status: 'False', reason: 'FailoverBlocked', message: note });
            await rc.event('Warning', 'FailoverBlocked', note);
          }
          return 'blocked'; // retried next round; the old primary stays fenced
        }
        candidate = choice;
        next = rc.info(choice.name);
        break;
      }
      case 'promote': {
        if (!candidate || !next) return 'failed';
        if (!(await promote(rc.sql(next), PROMOTE_TIMEOUT_MS))) throw new Error(`pg_promote on ${candidate.name} did not finish`);
        const after = await probePromoted(next.name, rc.sql(next), spec.probeTimeoutMs, PROMOTE_TIMEOUT_MS);
        timeline = after.timeline;
        state.currentPrimary = candidate.name;
        state.primaryUid = next.uid;
        state.failures = 0;
        state.syncStandbys = [];
        state.lastPrimaryLsn = after.currentLsn;
        await rc.patch({ currentPrimary: candidate.name, timeline, syncStandbys: [] });
        break;
      }
      case 'routeNewPrimary':
        if (!next) return 'failed';
        await router.route(rc.ref, rc.cluster, next, []);
        rc.deps.metrics?.duration.observe({ cluster: rc.key, kind }, (performance.now() - started) / 1000);
        break;
      case 'repointReplicas':
        if (!next) return 'failed';
        for (const p of probes) {
          const info = rc.info(p.name);
          if (!info || p.name === from || p.name === next.name || !p.reachable) continue;
          await setSystem(rc.sql(info), spec.probeTimeoutMs, 'primary_conninfo', conninfo(rc.sql(next), p.name)).catch((error: unknown) =>
            rc.log.warn({ key: rc.key, replica: p.name, err: describeError(error) }, 'repoint failed; it rejoins later'),
          );
        }
        break;
      case 'recordStatus': {
        if (!candidate || !next) return 'failed';
        const record: FailoverRecord = { kind, from, to: candidate.name, reason, at: rc.now().toISOString(), promotedLsn: formatLsn(candidate.lsn), fencedAt, promotedAt: rc.now().toISOString() };
        if (oldLsn !== undefined) record.oldPrimaryLsn = formatLsn(oldLsn);
        if (timeline !== undefined) record.timeline = timeline;
        await rc.patch(
          { phase: 'Healthy', lastFailover: record },
          { type: 'Ready', status: 'True', reason: kind === 'failover' ? 'FailedOver' : 'SwitchedOver', message: `${candidate.name} promoted (timeline ${timeline ?? '?'}): ${reason}` },
        );
        await rc.event(
          'Normal',
          kind === 'failover' ? 'FailedOver' : 'SwitchedOver',
          `${from} -> ${candidate.name}: ${reason}; old primary last LSN ${record.oldPrimaryLsn ?? 'unknown'}, promoted at received LSN ${record.promotedLsn}, timeline ${timeline ?? '?'}`,
        );
        if (kind === 'switchover') await rc.deps.removeSwitchoverAnnotation(rc.ref);
        break;
      }
    }
    stepDone(step);
  }
  return 'completed';
}
