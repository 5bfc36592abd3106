/**
 * Routing of a PostgresCluster's `-rw` / `-ro` endpoints: in the cluster by
 * labelling Pods that the Services select (PodLabelRouter); for instances
 * that are not Pods (local processes in tests and the bench) by writing the
 * EndpointSlices of selector-less Services (EndpointSliceRouter).
 */
import { CoreV1Api, type KubeConfig, type KubernetesObject, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeWriter } from '../kube.ts';
import type { ClusterRef, InstanceInfo } from '../postgres/driver.ts';
import { clusterObjects } from './postgrescluster-manifests.ts';
import { CLUSTER_LABEL, type PostgresCluster, ROLE_LABEL } from './postgrescluster-resource.ts';

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
