/**
 * The PostgresCluster policy, pure: which action a reconciliation takes
 * (`chooseAction`) given the spec, the cluster's history (status) and one pass
 * of probes; which replica to promote (`chooseCandidate`); and the order of a
 * failover's steps (`failoverSteps`). No I/O, no clock: the reconciliation
 * (postgrescluster-reconciliation.ts) carries the action out.
 *
 * Safety rules encoded here:
 * - the old primary is fenced (taken off the -rw endpoint, then stopped) before
 *   anything is promoted, and a failed fence aborts the failover;
 * - the candidate is chosen after fencing, from fresh probes: the reachable
 *   replica with the highest received LSN whose lag behind the last known
 *   primary position is within maxLagBytes;
 * - with synchronous replication only a replica that the primary last
 *   reported as `sync` may be promoted (an acknowledged commit is on it);
 * - two writable instances are never resolved by guessing: the one the status
 *   names as primary wins, any other is sent to rejoin.
 */
import { lagBytes } from '../postgres/lsn.ts';

export type Replication = 'sync' | 'async';

export interface PostgresClusterSpec {
  instances: number;
  replication: Replication;
  maxLagBytes: number;
  failureThreshold: number;
  probeIntervalMs: number;
  probeTimeoutMs: number;
}

export const SPEC_DEFAULTS: PostgresClusterSpec = {
  instances: 2,
  replication: 'async',
  maxLagBytes: 16 * 1024 * 1024,
  failureThreshold: 3,
  probeIntervalMs: 1000,
  probeTimeoutMs: 1000,
};

/** The most instances a cluster may have (one primary + 8 replicas). */
export const MAX_INSTANCES = 9;

/** One instance as seen by one pass of probes (SQL) and the host/Kubernetes view. */
export interface InstanceProbe {
  name: string;
  /** The SQL probe succeeded within its timeout. */
  reachable: boolean;
  /** The host view: the process / Pod exists. false = known gone; undefined = unknown. */
  alive?: boolean;
  inRecovery?: boolean;
  timeline?: number;
  /** Primary: pg_current_wal_lsn(). */
  currentLsn?: bigint;
  /** Replica: pg_last_wal_receive_lsn(). */
  receiveLsn?: bigint;
  /** Replica: pg_last_wal_replay_lsn(). */
  replayLsn?: bigint;
  /** Primary: pg_stat_replication (application_name = instance name). */
  replicas?: Array<{ name: string; syncState: string }>;
  /** Primary: current synchronous_standby_names. */
  syncNames?: string;
  error?: string;
}

/** What a reconciliation knows from earlier ones (kept in status). */
export interface ClusterHistory {
  currentPrimary?: string;
  /** Consecutive failed probes of the current primary. */
  failures: number;
  /** The primary's WAL position at its last successful probe. */
  lastPrimaryLsn?: bigint;
  /** Replicas the healthy primary last reported as synchronous. */
  syncStandbys: string[];
  /** Former primaries that must be rewound before they serve again. */
  pendingRejoin: string[];
}

export type ClusterAction =
  | { kind: 'invalid'; problems: string[] }
  | { kind: 'wait'; reason: string }
  | { kind: 'bootstrap'; primary: string }
  | { kind: 'healthy'; rejoin: string[] }
  | { kind: 'suspect'; failures: number; reason: string }
  | { kind: 'failover'; from: string; reason: string }
  | { kind: 'switchover'; from: string; to?: string };

/** Everything wrong with a spec, at once (the CRD schema catches most; this guards the rest). */
export function validateSpec(spec: PostgresClusterSpec): string[] {
  const problems: string[] = [];
  const int = (key: keyof PostgresClusterSpec, min: number, max: number): void => {
    const value = spec[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) problems.push(`spec.${key} must be an integer in [${min}, ${max}] (got ${String(value)})`);
  };
  int('instances', 1, MAX_INSTANCES);
  int('maxLagBytes', 0, Number.MAX_SAFE_INTEGER);
  int('failureThreshold', 1, 100);
  int('probeIntervalMs', 100, 60_000);
  int('probeTimeoutMs', 100, 60_000);
  if (spec.replication !== 'sync' && spec.replication !== 'async') problems.push(`spec.replication must be "sync" or "async" (got ${JSON.stringify(spec.replication)})`);
  if (spec.replication === 'sync' && spec.instances < 2) problems.push('spec.replication "sync" needs at least 2 instances');
  return problems;
}

/** A probe that counts as a failure of the primary: unreachable, gone, or no longer writable. */
export function primaryFailed(probe: InstanceProbe | undefined): string | undefined {
  if (!probe) return 'instance missing';
  if (probe.alive === false) return 'instance gone (host view)';
  if (!probe.reachable) return `probe failed: ${probe.error ?? 'unreachable'}`;
  if (probe.inRecovery) return 'primary is in recovery';
  return undefined;
}

/**
 * The action of one reconciliation. `switchoverTo` is the unhandled switchover
 * request ("" = any eligible replica), if any.
 */
export function chooseAction(spec: PostgresClusterSpec, history: ClusterHistory, probes: InstanceProbe[], switchoverTo?: string): ClusterAction {
  const problems = validateSpec(spec);
  if (problems.length > 0) return { kind: 'invalid', problems };
  const writable = probes.filter((p) => p.reachable && p.inRecovery === false);
  const primary = history.currentPrimary;
  if (!primary) {
    if (writable.length === 1 && writable[0]) return { kind: 'bootstrap', primary: writable[0].name };
    if (writable.length > 1) return { kind: 'wait', reason: `several writable instances (${writable.map((p) => p.name).join(', ')}) and no recorded primary: refusing to guess` };
    return { kind: 'wait', reason: 'no writable instance yet' };
  }
  const probe = probes.find((p) => p.name === primary);
  const failed = primaryFailed(probe);
  if (failed) {
    const failures = history.failures + 1;
    // The host view confirms death at once; a probe failure alone needs the threshold.
    if (probe?.alive === false || failures >= spec.failureThreshold) return { kind: 'failover', from: primary, reason: failed };
    return { kind: 'suspect', failures, reason: failed };
  }
  if (switchoverTo !== undefined) return { kind: 'switchover', from: primary, to: switchoverTo === '' ? undefined : switchoverTo };
  // Rejoin: any other writable instance (an old primary restarted as-is), and
  // fenced former primaries once they answer or are known stopped (then the
  // driver restarts them after pg_rewind).
  const rejoin = probes
    .filter((p) => p.name !== primary && ((p.reachable && (p.inRecovery === false || history.pendingRejoin.includes(p.name))) || (p.alive === false && history.pendingRejoin.includes(p.name))))
    .map((p) => p.name);
  return { kind: 'healthy', rejoin };
}

export type Candidate = { name: string; lsn: bigint } | { name?: undefined; reason: string; rejected: Array<{ name: string; reason: string }> };

/**
 * The replica to promote: reachable, in recovery, within the lag limit of the
 * newest known position (the old primary's last LSN or the best replica's),
 * synchronous when replication is sync; highest received LSN wins, then
 * highest replayed, then name (deterministic). `only` restricts to one name
 * (manual switchover).
 */
export function chooseCandidate(input: {
  replicas: InstanceProbe[];
  lastPrimaryLsn?: bigint;
  maxLagBytes: number;
  replication: Replication;
  syncStandbys: string[];
  only?: string;
}): Candidate {
  const rejected: Array<{ name: string; reason: string }> = [];
  const received = (p: InstanceProbe): bigint | undefined => p.receiveLsn ?? p.replayLsn;
  const newest = input.replicas.reduce((max, p) => {
    const lsn = received(p);
    return lsn !== undefined && lsn > max ? lsn : max;
  }, input.lastPrimaryLsn ?? 0n);
  const eligible: Array<{ p: InstanceProbe; lsn: bigint }> = [];
  for (const p of input.replicas) {
    const lsn = received(p);
    if (input.only !== undefined && p.name !== input.only) rejected.push({ name: p.name, reason: `switchover asks for ${input.only}` });
    else if (!p.reachable) rejected.push({ name: p.name, reason: `unreachable: ${p.error ?? 'probe failed'}` });
    else if (p.inRecovery !== true) rejected.push({ name: p.name, reason: 'not a replica (not in recovery)' });
    else if (lsn === undefined) rejected.push({ name: p.name, reason: 'no received LSN' });
    else if (input.replication === 'sync' && !input.syncStandbys.includes(p.name)) rejected.push({ name: p.name, reason: 'was not a synchronous standby' });
    else if (lagBytes(newest, lsn) > BigInt(input.maxLagBytes)) rejected.push({ name: p.name, reason: `lag ${lagBytes(newest, lsn)} bytes > maxLagBytes ${input.maxLagBytes}` });
    else eligible.push({ p, lsn });
  }
  eligible.sort((a, b) => {
    if (a.lsn !== b.lsn) return a.lsn > b.lsn ? -1 : 1;
    const ra = a.p.replayLsn ?? 0n;
    const rb = b.p.replayLsn ?? 0n;
    if (ra !== rb) return ra > rb ? -1 : 1;
    return a.p.name < b.p.name ? -1 : 1;
  });
  const best = eligible[0];
  if (best) return { name: best.p.name, lsn: best.lsn };
  return { reason: rejected.length === 0 ? 'no replicas' : 'no eligible replica', rejected };
}

export type FailoverStep =
  | 'acquireLease'
  | 'unrouteOldPrimary'
  | 'stopOldPrimary'
  | 'probeReplicas'
  | 'chooseCandidate'
  | 'promote'
  | 'routeNewPrimary'
  | 'repointReplicas'
  | 'recordStatus';

/**
 * The order of a failover or switchover. Fencing (unroute, then stop) comes
 * before the candidate is chosen, so its LSN is final, and long before the
 * promotion. The same order serves a manual switchover.
 */
export function failoverSteps(): FailoverStep[] {
  return ['acquireLease', 'unrouteOldPrimary', 'stopOldPrimary', 'probeReplicas', 'chooseCandidate', 'promote', 'routeNewPrimary', 'repointReplicas', 'recordStatus'];
}

/** synchronous_standby_names the primary should run with: sync only while a standby streams (Patroni's non-strict mode). */
export function desiredSyncNames(replication: Replication, streamingReplicas: number): string {
  return replication === 'sync' && streamingReplicas > 0 ? 'FIRST 1 (*)' : '';
}
