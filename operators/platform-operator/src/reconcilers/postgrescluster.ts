/**
 * The PostgresCluster controller: an informer on postgresclusters.bulwark.dev
 * (and in a cluster one on the instances' Pods) and the reconciler (postgrescluster-reconciliation.ts) with what it needs in
 * a cluster (KubernetesDriver, PodLabelRouter) or with local processes
 * (a driver passed in, EndpointSliceRouter). Where each part lives:
 *   postgrescluster-resource.ts        the custom resource, labels, spec defaults
 *   postgrescluster-policy.ts          pure: validateSpec, chooseAction, chooseCandidate, failoverSteps
 *   postgrescluster-reconciliation.ts  one reconciliation: probe, choose, act; healthy upkeep, rejoin
 *   postgrescluster-failover.ts        failover and switchover steps, their metrics
 *   postgrescluster-routers.ts         -rw / -ro routing (Pod labels or EndpointSlices)
 *   postgrescluster-manifests.ts       StatefulSet and Services; the entrypoint in postgres/entrypoint.sh
 *   postgrescluster-lease.ts           the per-cluster `<name>-failover` Lease
 *   ../postgres/kubernetes-driver.ts   instances as the StatefulSet's Pods
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import type { Registry } from '@bulwark/service-kit/metrics';
import { Controller } from '../controller.ts';
import { Informer } from '../informer.ts';
import { KubeWriter } from '../kube.ts';
import type { Logger } from '../log.ts';
import type { InstanceDriver } from '../postgres/driver.ts';
import { KubernetesDriver } from '../postgres/kubernetes-driver.ts';
import { failoverMetrics } from './postgrescluster-failover.ts';
import { ClusterLease } from './postgrescluster-lease.ts';
import { postgresClusterReconciler } from './postgrescluster-reconciliation.ts';
import { CLUSTER_LABEL, customRefOf, POSTGRESCLUSTER, type PostgresCluster, SWITCHOVER_ANNOTATION } from './postgrescluster-resource.ts';
import { EndpointSliceRouter, PodLabelRouter } from './postgrescluster-routers.ts';

export { POSTGRESCLUSTER, type PostgresCluster, SWITCHOVER_ANNOTATION } from './postgrescluster-resource.ts';

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
  // In the cluster, a change of an instance's Pod (deleted, container ended, became Ready) reconciles its
  // cluster at once instead of at the next probe round: a deleted primary is acted on when it stops.
  const core = kc.makeApiClient(CoreV1Api);
  const podInformer = options.driver
    ? undefined
    : new Informer<V1Pod>({
        name: 'postgrescluster-pods',
        kc,
        path: namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods',
        labelSelector: CLUSTER_LABEL,
        list: () => (namespace ? core.listNamespacedPod({ namespace, labelSelector: CLUSTER_LABEL }) : core.listPodForAllNamespaces({ labelSelector: CLUSTER_LABEL })),
        registry: options.registry,
        log: options.log,
      });
  const clusterKeyOf = (obj: KubernetesObject): string | undefined => {
    const cluster = obj.metadata?.labels?.[CLUSTER_LABEL];
    return cluster ? `${obj.metadata?.namespace ?? ''}/${cluster}` : undefined;
  };
  return new Controller<PostgresCluster>({
    name: 'postgrescluster',
    informer,
    watches: podInformer ? [{ informer: podInformer, keyOf: clusterKeyOf }] : [],
    reconcile: postgresClusterReconciler({
      writer,
      driver,
      router,
      lease: new ClusterLease(kc, options.identity),
      metrics: failoverMetrics(options.registry),
      removeSwitchoverAnnotation: async (cluster) => {
        await custom.patchNamespacedCustomObject(
          { ...customRefOf(cluster), body: { metadata: { annotations: { [SWITCHOVER_ANNOTATION]: null } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      },
    }),
    concurrency: 4,
    registry: options.registry,
    log: options.log,
  });
}
