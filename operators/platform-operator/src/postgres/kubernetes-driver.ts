import { ApiException, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { CLUSTER_LABEL } from '../reconcilers/postgrescluster-resource.ts';
import type { ClusterRef, InstanceDriver, InstanceInfo } from './driver.ts';
import type { Endpoint } from './sql.ts';

/** How often the fence reads the deleted Pod back: every 100 ms of it is RTO. */
const FENCE_POLL_MS = 100;

/**
 * Host view of a Pod: false once it is being deleted (its preStop stops PostgreSQL fast and the kubelet
 * never restarts a container of a deleted Pod, so a failed probe of it is final, no need to wait for
 * failureThreshold probes) or has ended; true while it runs; unknown otherwise (Pending, or no status yet).
 */
export function podAlive(pod: V1Pod): boolean | undefined {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase === 'Running') return true;
  if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') return false;
  return undefined;
}

/**
 * True when the old primary can take no more writes: the Pod is a new one (no deletion mark: the
 * StatefulSet replaced it, and its entrypoint starts a standby), or it is being deleted and every
 * container has terminated (the kubelet restarts no container of a deleted Pod). Waiting for the
 * object to disappear would add the sandbox teardown and the kubelet's final status round, seconds
 * that writes wait for.
 */
export function fenced(pod: V1Pod): boolean {
  if (!pod.metadata?.deletionTimestamp) return true;
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.length > 0 && statuses.every((c) => c.state?.terminated !== undefined);
}

/**
 * In the cluster: instances are the StatefulSet's Pods (address = Pod IP,
 * host view = Pod phase and deletion), credentials come from the
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
    return pods.items.map((pod) => ({ name: pod.metadata?.name ?? '', host: pod.status?.podIP ?? '', port: 5432, alive: podAlive(pod), uid: pod.metadata?.uid }));
  }

  async credentials(cluster: ClusterRef): Promise<{ user: string; password: string }> {
    const secret = await this.#core.readNamespacedSecret({ name: `${cluster.name}-credentials`, namespace: cluster.namespace });
    const password = Buffer.from(secret.data?.POSTGRES_PASSWORD ?? '', 'base64').toString('utf8');
    return { user: 'postgres', password };
  }

  sqlEndpoint(instance: InstanceInfo, credentials: { user: string; password: string }): Endpoint {
    return { host: instance.host, port: instance.port, ...credentials };
  }

  /**
   * Deletes the instance's Pod, the incarnation the operator saw (uid precondition), and waits until it
   * is stopped. A Pod of that name with another uid is its replacement, which starts as a standby: the
   * old primary is already gone, and deleting the new one would only wait out its grace (its entrypoint
   * may still be rewinding) for nothing.
   */
  async fence(cluster: ClusterRef, instance: InstanceInfo): Promise<void> {
    await this.#deleteUntil(cluster, instance, fenced, 'stopped');
  }

  async rejoin(cluster: ClusterRef, instance: InstanceInfo): Promise<void> {
    // Gone, or replaced by a new Pod (no deletion mark) whose entrypoint rewinds it.
    await this.#deleteUntil(cluster, instance, (pod) => !pod.metadata?.deletionTimestamp, 'replaced');
  }

  /** Deletes the Pod (10 s grace, which also shortens a longer one in progress) and reads it back until `done`, gone or replaced. */
  async #deleteUntil(cluster: ClusterRef, instance: InstanceInfo, done: (pod: V1Pod) => boolean, what: string): Promise<void> {
    const body = instance.uid ? { preconditions: { uid: instance.uid } } : undefined;
    const deleted = await this.#core.deleteNamespacedPod({ name: instance.name, namespace: cluster.namespace, gracePeriodSeconds: 10, body }).then(
      () => true,
      (error: unknown) => {
        // 404: gone; 409: the uid precondition failed, another incarnation runs under the name.
        if (error instanceof ApiException && (error.code === 404 || error.code === 409)) return false;
        throw error;
      },
    );
    if (!deleted) return;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const pod = await this.#core.readNamespacedPod({ name: instance.name, namespace: cluster.namespace }).catch(() => undefined);
      if (!pod || (instance.uid !== undefined && pod.metadata?.uid !== instance.uid) || done(pod)) return;
      await new Promise((r) => setTimeout(r, FENCE_POLL_MS));
    }
    throw new Error(`pod ${instance.name} not ${what} after 30 s: not fenced`);
  }
}
