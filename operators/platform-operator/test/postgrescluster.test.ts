/**
 * The in-cluster shape of a PostgresCluster against the real local API server
 * (kube-controller-manager creates the StatefulSet's Pods; kwok runs no
 * containers, so no PostgreSQL answers here: failover itself is covered with
 * local processes in failover.test.ts). Checks the owned StatefulSet and
 * Services, that the status reports waiting rather than crashing, and that
 * the Pod-label router moves the primary label with removals first.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { KubeWriter } from '../src/kube.ts';
import { silentLogger } from '../src/log.ts';
import { Operator } from '../src/operator.ts';
import { KubernetesDriver } from '../src/postgres/kubernetes-driver.ts';
import { POSTGRESCLUSTER, type PostgresCluster, postgresClusterController } from '../src/reconcilers/postgrescluster.ts';
import { ROLE_LABEL } from '../src/reconcilers/postgrescluster-resource.ts';
import { PodLabelRouter } from '../src/reconcilers/postgrescluster-routers.ts';
import { ensureCluster } from '../../../scripts/cluster/index.ts';
import { CLUSTER_START_MS, connect, createNamespace, deleteNamespace, eventually, installCrds } from './helpers.ts';

let kc: KubeConfig;
let namespace: string;
let operator: Operator | undefined;

beforeAll(async () => {
  kc = await connect();
  await installCrds();
  const { kubeconfig, kubectl } = await ensureCluster({ crds: false });
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', 'crd/postgresclusters.bulwark.dev'], { stdio: 'pipe' });
  namespace = await createNamespace(kc, 'pgcluster');
}, CLUSTER_START_MS);

afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(kc, namespace);
});

describe('PostgresCluster in the cluster (StatefulSet, Services, Pod labels)', () => {
  it('when a PostgresCluster is created, then the operator applies an owned StatefulSet and -rw/-ro Services selecting on the role label, and reports Pending while no instance answers', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'db-credentials' }, stringData: { POSTGRES_PASSWORD: 'not-used-here' } } });
    const registry = new Registry();
    const controller = postgresClusterController({ kc, identity: 'op-a', namespace, registry, log: silentLogger });
    operator = new Operator({ kc, identity: 'op-a', namespace, leaseName: 'platform-operator', timings: { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 }, controllers: [controller], registry, port: 0, host: '127.0.0.1', log: silentLogger });
    await operator.start();
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ref = { group: POSTGRESCLUSTER.group, version: POSTGRESCLUSTER.version, plural: POSTGRESCLUSTER.plural, namespace, name: 'db' };
    const created = (await custom.createNamespacedCustomObject({
      ...ref,
      body: { apiVersion: 'bulwark.dev/v1alpha1', kind: 'PostgresCluster', metadata: { name: 'db' }, spec: { instances: 3, replication: 'sync', probeTimeoutMs: 300, probeIntervalMs: 500 } },
    })) as PostgresCluster;

    const apps = kc.makeApiClient(AppsV1Api);
    const sts = await eventually('statefulset', () => apps.readNamespacedStatefulSet({ name: 'db', namespace }).catch(() => undefined), (s) => s !== undefined);
    expect(sts?.spec?.replicas).toBe(3);
    expect(sts?.metadata?.ownerReferences?.[0]).toEqual(expect.objectContaining({ kind: 'PostgresCluster', uid: created.metadata?.uid, controller: true }));
    const container = sts?.spec?.template.spec?.containers[0];
    expect(container?.image).toBe('postgres:15.13');
    expect(container?.envFrom?.[0]?.secretRef?.name).toBe('db-credentials');
    expect(sts?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage).toBe('2Gi');
    const rw = await core.readNamespacedService({ name: 'db-rw', namespace });
    const ro = await core.readNamespacedService({ name: 'db-ro', namespace });
    expect(rw.spec?.selector).toEqual({ 'bulwark.dev/postgrescluster': 'db', [ROLE_LABEL]: 'primary' });
    expect(ro.spec?.selector).toEqual({ 'bulwark.dev/postgrescluster': 'db', [ROLE_LABEL]: 'replica' });

    const pending = await eventually('pending', () => custom.getNamespacedCustomObject(ref) as Promise<PostgresCluster>, (c) => c.status?.phase === 'Pending');
    expect(pending.status?.conditions?.[0]).toEqual(expect.objectContaining({ type: 'Ready', status: 'False', reason: 'Waiting', message: 'no writable instance yet' }));
  });

  it('when the router moves the primary, then exactly the chosen Pod carries role=primary and a fenced Pod loses it', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const pods = await eventually('3 pods', () => core.listNamespacedPod({ namespace, labelSelector: 'bulwark.dev/postgrescluster=db' }), (l) => l.items.length === 3, 60_000);
    expect(pods.items.map((p) => p.metadata?.name).sort()).toEqual(['db-0', 'db-1', 'db-2']);
    const driver = new KubernetesDriver(kc);
    const instances = await driver.instances({ namespace, name: 'db' });
    const byName = (n: string) => instances.find((i) => i.name === n)!;
    const router = new PodLabelRouter(kc, new KubeWriter(kc, 'test'));
    const owner = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'bulwark.dev', version: 'v1alpha1', plural: 'postgresclusters', namespace, name: 'db' })) as PostgresCluster;
    const roles = async (): Promise<Record<string, string | undefined>> => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: 'bulwark.dev/postgrescluster=db' });
      return Object.fromEntries(list.items.map((p) => [p.metadata?.name ?? '', p.metadata?.labels?.[ROLE_LABEL]]));
    };
    await router.route({ namespace, name: 'db' }, owner, byName('db-1'), [byName('db-0'), byName('db-2')]);
    expect(await roles()).toEqual({ 'db-0': 'replica', 'db-1': 'primary', 'db-2': 'replica' });
    await router.route({ namespace, name: 'db' }, owner, undefined, [byName('db-0')]);
    expect(await roles()).toEqual({ 'db-0': 'replica', 'db-1': undefined, 'db-2': undefined });
    await router.route({ namespace, name: 'db' }, owner, byName('db-2'), [byName('db-0')]);
    expect(await roles()).toEqual({ 'db-0': 'replica', 'db-1': undefined, 'db-2': 'primary' });
  });
});
