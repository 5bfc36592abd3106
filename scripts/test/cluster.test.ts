import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { eventually } from '@bulwark/test-support';
import { ensureCluster, fakeNodeScheduling } from '../cluster/index.ts';

// The first run on a machine builds Kubernetes from source; later runs start in seconds.
const COLD_BUILD_MS = 40 * 60_000;
// Right after a restart the controllers resync before they act on new objects.
const ROLLOUT_MS = 120_000;

let core: CoreV1Api;
let apps: AppsV1Api;
let apiext: ApiextensionsV1Api;
const namespace = `cluster-test-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  const { kubeconfig } = await ensureCluster();
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  apiext = kc.makeApiClient(ApiextensionsV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
}, COLD_BUILD_MS);

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

const poll = <T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> => eventually(what, read, done, ROLLOUT_MS - 10_000, 250);

describe('local Kubernetes control plane', () => {
  it('when a Deployment of 2 replicas targets the fake nodes, then both Pods are scheduled and Running', async () => {
    const labels = { app: 'cluster-smoke' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'smoke', labels },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { ...fakeNodeScheduling, containers: [{ name: 'app', image: 'registry.invalid/smoke:1' }] },
          },
        },
      },
    });
    const phases = (pods: V1Pod[]): string[] => pods.map((p) => p.status?.phase ?? 'none');
    const started = Date.now();
    const pods = await poll(
      'pods of the smoke Deployment',
      async () => (await core.listNamespacedPod({ namespace, labelSelector: 'app=cluster-smoke' })).items,
      (items) => items.length === 2 && phases(items).every((p) => p === 'Running'),
    );
    console.log(`2 Pods Running ${Date.now() - started} ms after the Deployment was created`);
    expect(phases(pods)).toEqual(['Running', 'Running']);
    expect(pods.every((p) => p.spec?.nodeName?.startsWith('kwok-node-'))).toBe(true);
    const deployment = await poll(
      'smoke Deployment availability',
      () => apps.readNamespacedDeployment({ namespace, name: 'smoke' }),
      (d) => d.status?.availableReplicas === 2,
    );
    expect(deployment.status?.readyReplicas).toBe(2);
  }, ROLLOUT_MS);

  it.each([
    'virtualservices.networking.istio.io',
    'authorizationpolicies.security.istio.io',
    'rollouts.argoproj.io',
    'podchaos.chaos-mesh.org',
    'servicemonitors.monitoring.coreos.com',
    'prometheusrules.monitoring.coreos.com',
  ])('when the cluster is up, then the upstream CRD %s is established', async (name) => {
    const crd = await apiext.readCustomResourceDefinition({ name });
    const established = crd.status?.conditions?.find((c) => c.type === 'Established');
    expect(established?.status).toBe('True');
  });
});
