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
import { call, eventually, waitFor } from '@bulwark/test-support';
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
    await checkoutsThroughFault('orders Pod deleted', () => {
      // SIGTERM, SIGKILL a second later (inside its drain delay); its Deployment starts another, which resumes the sagas.
      kubectl(['delete', 'pod', '-n', platformNamespace, '-l', 'app.kubernetes.io/name=orders', '--grace-period=1', '--wait=false']);
    });
  }, 300_000);

  it('when the orders process is killed with `kill -9` inside its container mid-checkout, then the kubelet restarts it in the same Pod and every saga completes or compensates', async () => {
    const pod = ordersPod();
    // tini is PID 1 (the images' ENTRYPOINT), node its child: a SIGKILL from inside the namespace reaches node.
    expect(kubectl(['exec', '-n', platformNamespace, pod.name, '--', 'cat', '/proc/1/comm']).trim()).toBe('tini');
    await checkoutsThroughFault('orders killed with kill -9 through kubectl exec', () => {
      // exec'd processes have no parent inside the namespace, so PID 1's children are node alone.
      kubectl(['exec', '-n', platformNamespace, pod.name, '--', 'sh', '-c', 'kill -KILL $(cat /proc/1/task/1/children)']);
    });
    const after = ordersPod();
    // The same Pod, its container restarted by the kubelet: no SIGTERM, no drain, no new Pod.
    expect(after.name).toBe(pod.name);
    expect(after.restarts).toBeGreaterThan(pod.restarts);
    expect(after.lastExitCode).toBe(137);
  }, 300_000);
});

/** The orders Pod with its container's restart count and last exit code. */
function ordersPod(): { name: string; restarts: number; lastExitCode?: number } {
  const list = JSON.parse(kubectl(['get', 'pods', '-n', platformNamespace, '-l', 'app.kubernetes.io/name=orders', '-o', 'json'])) as {
    items: { metadata: { name: string; deletionTimestamp?: string }; status: { containerStatuses?: { restartCount: number; lastState?: { terminated?: { exitCode: number } } }[] } }[];
  };
  const live = list.items.filter((p) => !p.metadata.deletionTimestamp);
  if (live.length !== 1) throw new Error(`expected one orders Pod, found ${live.map((p) => p.metadata.name).join(', ') || 'none'}`);
  const status = live[0]!.status.containerStatuses?.[0];
  return { name: live[0]!.metadata.name, restarts: status?.restartCount ?? 0, lastExitCode: status?.lastState?.terminated?.exitCode };
}

/**
 * Six checkouts of one fresh SKU started through the in-cluster gateway, the fault applied while their
 * sagas run, then: every saga ends (completed or failed), the platform is Ready again, a completed order's
 * payment is captured and a failed one holds none, and stock is what the completed orders took with
 * nothing left reserved.
 */
async function checkoutsThroughFault(fault: string, apply: () => void): Promise<void> {
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
  apply();
  // How many were still running when the fault hit (reported, not asserted: the race is the point).
  const states = await Promise.all(orders.map(async (o) => ((await call(gateway, 'GET', `/v1/orders/${o}/checkout`, undefined, auth)).body as { status?: string }).status));
  const running = states.filter((st) => st !== 'completed' && st !== 'failed').length;
  const outcome = new Map<string, { status: string; paymentId?: string }>();
  await waitFor(
    async () => {
      for (const o of orders) {
        if (outcome.has(o)) continue;
        // A 429 (the per-user bucket: 120 a minute, shared by both fault scenarios) is read as "not yet".
        const r = await call(gateway, 'GET', `/v1/orders/${o}/checkout`, undefined, auth);
        const body = r.body as { status?: string; paymentId?: string };
        if (body.status === 'completed' || body.status === 'failed') outcome.set(o, { status: body.status, paymentId: body.paymentId });
      }
      return outcome.size === orders.length;
    },
    `every checkout finished after the fault (${fault})`,
    240_000,
    2_000,
  );
  await waitFor(() => Promise.resolve(unreadyPods().length === 0), `the platform Ready again after the fault (${fault})`, 120_000, 500);
  // Money: a completed order's payment is captured; a failed one holds none.
  let taken = 0;
  for (const [, o] of outcome) {
    if (o.status === 'completed') taken += 2;
    if (!o.paymentId) continue;
    const payment = await eventually(`payment ${o.paymentId} read through the gateway`, () => call(gateway, 'GET', `/v1/payments/${o.paymentId}`, undefined, auth), (r) => r.status !== 429, 60_000, 1_000).then((r) => r.body as { status: string });
    if (o.status === 'completed') expect(payment.status).toBe('captured');
    else expect(['authorized', 'captured']).not.toContain(payment.status);
  }
  // Stock: what the completed orders took, nothing left reserved.
  expect((await call(inventory, 'GET', `/v1/skus/${sku}`)).body).toMatchObject({ onHand: 20 - taken, reserved: 0 });
  const completed = [...outcome.values()].filter((o) => o.status === 'completed').length;
  console.log(`real node fault (${fault}): ${running} of ${orders.length} sagas running when it hit; ${completed} completed, ${orders.length - completed} compensated`);
}
