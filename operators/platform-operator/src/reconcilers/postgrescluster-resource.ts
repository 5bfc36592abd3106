/**
 * The PostgresCluster custom resource: its API coordinates, labels and
 * annotation, its object shape, and the spec with defaults applied.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Condition, CustomRef } from '../kube.ts';
import type { ClusterRef } from '../postgres/driver.ts';
import { type PostgresClusterSpec, SPEC_DEFAULTS } from './postgrescluster-policy.ts';

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
  /** `replicationNetworks`: CIDRs for the Pods' replication rule (default REPLICATION_NETWORKS in postgrescluster-manifests.ts). */
  spec: Partial<PostgresClusterSpec> & { image?: string; storage?: string; replicationNetworks?: string[] };
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

/** The spec with every default filled in. */
export function specOf(cluster: PostgresCluster): PostgresClusterSpec {
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

/** The custom object's reference for status patches. */
export function customRefOf(cluster: ClusterRef): CustomRef {
  return { group: POSTGRESCLUSTER.group, version: POSTGRESCLUSTER.version, plural: POSTGRESCLUSTER.plural, namespace: cluster.namespace, name: cluster.name };
}
