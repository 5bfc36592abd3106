/**
 * How the reconciler reaches the instances of a PostgresCluster, kept apart
 * from the decision logic so the same failover code runs against Pods of a
 * StatefulSet (KubernetesDriver, in the cluster) or against PostgreSQL
 * processes on this machine (LocalDriver, in tests and the bench).
 */
import type { Endpoint } from './sql.ts';

export interface InstanceInfo {
  name: string;
  /** The address clients use (what the -rw / -ro endpoints carry). */
  host: string;
  port: number;
  /** Host view: the process or Pod exists and runs. undefined = unknown. */
  alive?: boolean;
  /**
   * Which incarnation runs under this name (a Pod's uid): another one means the process seen before
   * is gone, e.g. a deleted primary's Pod replaced by the StatefulSet. undefined = not tracked.
   */
  uid?: string;
}

export interface InstanceDriver {
  /** The instances of the cluster with their client address and host view. */
  instances(cluster: ClusterRef): Promise<InstanceInfo[]>;
  /** Superuser credentials for probes, promotion, pg_rewind and replication. */
  credentials(cluster: ClusterRef): Promise<{ user: string; password: string }>;
  /** Where the operator connects to `instance` for SQL (may differ from the client address). */
  sqlEndpoint(instance: InstanceInfo, credentials: { user: string; password: string }): Endpoint;
  /**
   * Makes sure `instance` cannot take writes: stopped (cleanly when it
   * answers, so its WAL reaches the standbys) and, if it starts again, in
   * recovery. Throws unless that is confirmed.
   */
  fence(cluster: ClusterRef, instance: InstanceInfo): Promise<void>;
  /** Rewinds `instance` onto `primary`'s timeline (pg_rewind) and starts it as a standby of it. */
  rejoin(cluster: ClusterRef, instance: InstanceInfo, primary: Endpoint): Promise<void>;
}

export interface ClusterRef {
  namespace: string;
  name: string;
}
