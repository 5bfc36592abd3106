import { ApiException, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { CLUSTER_LABEL } from '../reconcilers/postgrescluster-resource.ts';
import type { ClusterRef, InstanceDriver, InstanceInfo } from './driver.ts';
import type { Endpoint } from './sql.ts';

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
