/**
 * Smoke of the real node (issue 27): the gateway's image, built here with podman, runs as a Pod
 * on a real kubelet + containerd beside kwok, turns Ready through its own readiness probe, answers
 * through its ClusterIP Service (kube-proxy), is found by name from another Pod (CoreDNS), and
 * stopping the node leaves nothing behind.
 *
 * Skipped unless BULWARK_REAL_NODE=1: it needs root, and a cold machine first builds kubelet and
 * kube-proxy from source and the base image with debootstrap (see README, "A real node").
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { waitFor } from '@bulwark/test-support';
import { ensureCluster } from '../cluster/index.ts';
import { buildImages, imageRef } from '../cluster/images.ts';
import { ensureRealNode, nodeSettings, realNodeScheduling } from '../cluster/node.ts';
import { leftovers, stopRealNode } from '../cluster/node-cleanup.ts';

const suite = process.env.BULWARK_REAL_NODE === '1' ? describe : describe.skip;

// A cold machine builds the control plane, kubelet and kube-proxy from source (tens of minutes on two cores).
const COLD_START_MS = 60 * 60_000;
const namespace = `real-node-${randomUUID().slice(0, 8)}`;
let core: CoreV1Api;

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    // A fresh connection each time: one opened before kube-proxy's rules exist leaves through the default route
    // (here an egress proxy that answers 404), and a kept-alive socket would stay on that path.
    const req = http.get(url, { timeout: 2000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

const ready = (pod: V1Pod | undefined): boolean => pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

suite('real node', () => {
  beforeAll(async () => {
    const started = Date.now();
    const { kubeconfig } = await ensureCluster({ crds: false });
    const clusterAt = Date.now();
    buildImages(['gateway']);
    const imagesAt = Date.now();
    await ensureRealNode([imageRef('gateway')]);
    const s = (from: number, to: number): string => `${((to - from) / 1000).toFixed(1)} s`;
    console.log(`real node smoke: control plane ${s(started, clusterAt)}, gateway image ${s(clusterAt, imagesAt)}, node Ready ${s(imagesAt, Date.now())}`);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  }, COLD_START_MS);

  afterAll(async () => {
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
    await stopRealNode();
  }, 120_000);

  it('when the gateway image runs as a Pod on the real node, then its readiness probe passes and its Service answers', async () => {
    const labels = { app: 'gateway-smoke' };
    // One route without rate limits: the gateway starts without Redis; its upstream is never called here.
    const routes = {
      defaultVersion: 'v1',
      upstreams: { echo: { timeoutMs: 1000 } },
      rateLimitPolicies: [],
      routes: [{ id: 'echo-v1', version: 'v1', match: { prefix: '/echo' }, upstream: 'echo' }],
    };
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'gateway-routes' }, data: { 'routes.json': JSON.stringify(routes) } } });
    const started = Date.now();
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'gateway', labels },
        spec: {
          ...realNodeScheduling,
          containers: [
            {
              name: 'gateway',
              image: imageRef('gateway'),
              imagePullPolicy: 'Never',
              ports: [{ name: 'http', containerPort: 8080 }],
              env: [
                { name: 'GATEWAY_ROUTES_FILE', value: '/etc/gateway/routes.json' },
                { name: 'GATEWAY_UPSTREAMS', value: 'echo=http://127.0.0.1:9' },
              ],
              volumeMounts: [{ name: 'routes', mountPath: '/etc/gateway', readOnly: true }],
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
              securityContext: { runAsNonRoot: true, runAsUser: 10001, allowPrivilegeEscalation: false },
            },
          ],
          volumes: [{ name: 'routes', configMap: { name: 'gateway-routes' } }],
          terminationGracePeriodSeconds: 10,
        },
      },
    });
    let pod: V1Pod | undefined;
    await waitFor(
      async () => {
        pod = await core.readNamespacedPod({ namespace, name: 'gateway' });
        return ready(pod);
      },
      'the gateway Pod Ready on the real node',
      120_000,
      250,
    );
    console.log(`real node smoke: gateway Pod Ready ${((Date.now() - started) / 1000).toFixed(1)} s after create`);
    expect(pod?.spec?.nodeName).toBe(nodeSettings.ip);
    expect(pod?.status?.containerStatuses?.[0]?.ready).toBe(true);

    const service = await core.createNamespacedService({
      namespace,
      body: { metadata: { name: 'gateway' }, spec: { selector: labels, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] } },
    });
    const url = `http://${service.spec?.clusterIP}:8080/healthz`;
    let status = 0;
    await waitFor(async () => (status = await get(url)) === 200, `GET ${url} through kube-proxy`, 60_000, 250).catch((err: unknown) => {
      throw new Error(`${(err as Error).message} (last answer: ${status || 'no connection'})`);
    });
  }, 240_000);

  it('when a Pod on the node looks up the Service by its short name, then CoreDNS answers with the ClusterIP', async () => {
    const service = await core.readNamespacedService({ namespace, name: 'gateway' });
    // The gateway's image has Node; the Pod exits 0 only when the search path resolves the name to the Service.
    const script = `require('node:dns').promises.lookup('gateway').then((a) => { console.log(a.address); process.exit(a.address === '${service.spec?.clusterIP}' ? 0 : 1); }, (e) => { console.error(e.message); process.exit(2); })`;
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'lookup' },
        spec: {
          ...realNodeScheduling,
          restartPolicy: 'Never',
          containers: [{ name: 'lookup', image: imageRef('gateway'), imagePullPolicy: 'Never', command: ['node', '-e', script] }],
        },
      },
    });
    let phase: string | undefined;
    await waitFor(
      async () => {
        phase = (await core.readNamespacedPod({ namespace, name: 'lookup' })).status?.phase;
        return phase === 'Succeeded' || phase === 'Failed';
      },
      'the lookup Pod to finish',
      60_000,
      250,
    );
    expect(phase).toBe('Succeeded');
  }, 90_000);

  it('when the node is stopped, then no container, mount, network namespace, iptables chain or address is left', async () => {
    await core.deleteNamespace({ name: namespace });
    await stopRealNode();
    expect(leftovers()).toEqual([]);
  }, 120_000);
});
