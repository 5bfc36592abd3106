/**
 * The platform from its charts on the real node (issue 27): every chart installed in the kind
 * profile plus the real-node profile, every Pod Ready through its own probes on the real kubelet,
 * and the front door's journey (scripts/journey.ts, the one the first-run test drives against
 * `npm run up`) through the in-cluster gateway's ClusterIP. The data services are the host's,
 * behind selector-less Services (scripts/cluster/platform.ts).
 *
 * Skipped unless BULWARK_REAL_NODE=1 (root, images, a real kubelet). The node and the platform are
 * left running for the next run (warm); `npm run cluster -- down` removes both.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ensureCluster } from '../cluster/index.ts';
import { ensureRealNode, nodeSettings } from '../cluster/node.ts';
import { ensurePlatform, platformNamespace, unreadyPods } from '../cluster/platform.ts';
import { platformUrls } from '../infra/services.ts';
import { runJourney, type Step } from '../journey.ts';

const suite = process.env.BULWARK_REAL_NODE === '1' ? describe : describe.skip;

// A cold machine builds the control plane, kubelet and kube-proxy first.
const COLD_START_MS = 75 * 60_000;
let core: CoreV1Api;

async function clusterIp(name: string): Promise<string> {
  const service = await core.readNamespacedService({ namespace: platformNamespace, name });
  return `http://${service.spec?.clusterIP}`;
}

suite('the platform on the real node', () => {
  beforeAll(async () => {
    const started = Date.now();
    const { kubeconfig } = await ensureCluster();
    // Images are built by `npm run cluster -- images` beforehand (warm: ~1 min for all unchanged); a chart
    // without one is left out and named by ensurePlatform.
    const imagesAt = Date.now();
    await ensureRealNode();
    const nodeAt = Date.now();
    await ensurePlatform();
    const s = (from: number, to: number): string => `${((to - from) / 1000).toFixed(1)} s`;
    console.log(`real node platform: control plane ${s(started, imagesAt)}, node Ready ${s(imagesAt, nodeAt)}, platform Ready ${s(nodeAt, Date.now())}`);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
  }, COLD_START_MS);

  it('when the charts are installed, then every Pod runs on the real node and is Ready through its own probes', async () => {
    expect(unreadyPods()).toEqual([]);
    const pods = await core.listNamespacedPod({ namespace: platformNamespace });
    expect(pods.items.length).toBeGreaterThan(0);
    for (const pod of pods.items) expect({ pod: pod.metadata?.name, node: pod.spec?.nodeName }).toEqual({ pod: pod.metadata?.name, node: nodeSettings.ip });
  });

  it('when a new user takes the journey through the in-cluster gateway, then every step answers as it does against local processes', async () => {
    const steps: Step[] = [];
    const urls = { gateway: await clusterIp('gateway'), inventory: await clusterIp('inventory'), mail: platformUrls().mail };
    const started = Date.now();
    const { orderId, paymentId } = await runJourney(urls, (step) => steps.push(step));
    console.log(`real node journey: ${steps.length} steps in ${((Date.now() - started) / 1000).toFixed(1)} s (order ${orderId}, payment ${paymentId})`);
    expect(orderId).toBeTruthy();
  }, 180_000);
});
