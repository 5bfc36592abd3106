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
import { randomUUID } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ensureCluster } from '../cluster/index.ts';
import { ensureRealNode, nodeSettings } from '../cluster/node.ts';
import { ensurePlatform, platformNamespace, unreadyPods } from '../cluster/platform.ts';
import { platformUrls } from '../infra/services.ts';
import { call, waitFor } from '@bulwark/test-support';
import { kubectl } from '../cluster/kubectl.ts';
import { runJourney, seedDemo, type Step } from '../journey.ts';

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

  it('when the orders Pod is deleted mid-checkout, then every saga completes or compensates and money and stock reconcile', async () => {
    const gateway = await clusterIp('gateway');
    const inventory = await clusterIp('inventory');
    const { customer } = await seedDemo({ gateway, inventory, mail: platformUrls().mail });
    const auth = { authorization: `Bearer ${customer}` };
    const me = (await call(gateway, 'GET', '/v1/me', undefined, auth)).body as { id: string };
    const sku = `fault-${randomUUID().slice(0, 8)}`;
    expect((await call(inventory, 'PUT', `/v1/skus/${sku}`, { onHand: 20 })).status).toBe(200);
    const orders: string[] = [];
    for (let i = 0; i < 6; i++) {
      const created = await call(gateway, 'POST', '/v1/orders', { customerId: me.id }, auth);
      const orderId = (created.body as { order: { orderId: string } }).order.orderId;
      expect((await call(gateway, 'POST', `/v1/orders/${orderId}/items`, { sku, quantity: 2, unitPriceCents: 300 }, auth)).status).toBe(200);
      expect((await call(gateway, 'PUT', `/v1/orders/${orderId}/address`, { address: { line1: '1 Main St', city: 'Lyon', postalCode: '69001', country: 'FR' } }, auth)).status).toBe(200);
      orders.push(orderId);
    }
    const answers = await Promise.all(orders.map((o) => call(gateway, 'POST', `/v1/orders/${o}/checkout`, {}, { ...auth, 'idempotency-key': randomUUID() })));
    expect(answers.map((a) => a.status)).toEqual(orders.map(() => 202));
    // The sagas are under way: the Pod that runs them goes (SIGTERM, SIGKILL a second later: inside its drain delay),
    // its Deployment starts another, which resumes them.
    kubectl(['delete', 'pod', '-n', platformNamespace, '-l', 'app.kubernetes.io/name=orders', '--grace-period=1', '--wait=false']);
    // How many were still running when the Pod went (reported, not asserted: the race is the point).
    const states = await Promise.all(orders.map(async (o) => ((await call(gateway, 'GET', `/v1/orders/${o}/checkout`, undefined, auth)).body as { status?: string }).status));
    const running = states.filter((st) => st !== 'completed' && st !== 'failed').length;
    const outcome = new Map<string, { status: string; paymentId?: string }>();
    await waitFor(
      async () => {
        for (const o of orders) {
          if (outcome.has(o)) continue;
          const r = await call(gateway, 'GET', `/v1/orders/${o}/checkout`, undefined, auth);
          const body = r.body as { status?: string; paymentId?: string };
          if (body.status === 'completed' || body.status === 'failed') outcome.set(o, { status: body.status, paymentId: body.paymentId });
        }
        return outcome.size === orders.length;
      },
      'every checkout finished after the orders Pod was deleted',
      240_000,
      500,
    );
    // Its replacement turns Ready on the node through its probes.
    await waitFor(() => Promise.resolve(unreadyPods().length === 0), 'the platform Ready again with a new orders Pod', 120_000, 500);
    // Money: a completed order's payment is captured; a failed one holds none.
    let taken = 0;
    for (const [, o] of outcome) {
      if (o.status === 'completed') taken += 2;
      if (!o.paymentId) continue;
      const payment = (await call(gateway, 'GET', `/v1/payments/${o.paymentId}`, undefined, auth)).body as { status: string };
      if (o.status === 'completed') expect(payment.status).toBe('captured');
      else expect(['authorized', 'captured']).not.toContain(payment.status);
    }
    // Stock: what the completed orders took, nothing left reserved.
    expect((await call(inventory, 'GET', `/v1/skus/${sku}`)).body).toMatchObject({ onHand: 20 - taken, reserved: 0 });
    const completed = [...outcome.values()].filter((o) => o.status === 'completed').length;
    console.log(`real node fault: orders Pod deleted with ${running} of ${orders.length} sagas running; ${completed} completed, ${orders.length - completed} compensated`);
  }, 300_000);
});
