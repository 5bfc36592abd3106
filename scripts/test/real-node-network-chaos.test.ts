/**
 * Chaos Mesh NetworkChaos on the real node (issue 27): chaos-daemon, built from the Chaos Mesh Go module,
 * runs as a privileged DaemonSet Pod (scripts/cluster/chaos.ts) and applies chaos/gateway-catalog-partition.yaml
 * with ipset + iptables in the gateway's and catalog's network namespaces. Steady state asserted before,
 * during and after: a catalog route through the in-cluster gateway reaches catalog (an answer under 500),
 * then answers 5xx while catalog itself stays Ready and answers directly, then reaches catalog again.
 *
 * Delay (the gateway-redis-latency experiment and any `delay`, `loss`, `duplicate`, `corrupt` action) cannot
 * run on this kernel: it has no sch_netem (`tc qdisc add ... netem` says "Specified qdisc kind is unknown")
 * and no modules to load; docs/DECISIONS.md.
 *
 * Skipped unless BULWARK_REAL_NODE=1; needs the node and the platform (`npm run cluster -- up --real-node`,
 * `images`, `platform`).
 */
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '@bulwark/test-support';
import { ensureChaosDaemon, ensureChaosMesh } from '../cluster/chaos.ts';
import { ensureCluster } from '../cluster/index.ts';
import { kubectl } from '../cluster/kubectl.ts';
import { ensureRealNode } from '../cluster/node.ts';
import { ensurePlatform, platformNamespace } from '../cluster/platform.ts';
import { repoRoot } from '../cluster/settings.ts';

const suite = process.env.BULWARK_REAL_NODE === '1' ? describe : describe.skip;
const experiment = path.join(repoRoot, 'chaos', 'gateway-catalog-partition.yaml');

function serviceIp(service: string): string {
  return (JSON.parse(kubectl(['get', 'service', '-n', platformNamespace, service, '-o', 'json'])) as { spec: { clusterIP: string } }).spec.clusterIP;
}

/** The status of GET `url` within 15 s, 0 when nothing answered. */
function statusOf(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 15_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** A catalog route through the gateway (a cart that does not exist): catalog reached when the answer is under 500. */
const throughGateway = (): Promise<number> => statusOf(`http://${serviceIp('gateway')}/carts/00000000-0000-4000-8000-000000000000`);
const catalogDirect = (): Promise<number> => statusOf(`http://${serviceIp('catalog')}/readyz`);
const reached = (status: number): boolean => status > 0 && status < 500;

suite('Chaos Mesh NetworkChaos through chaos-daemon on the real node', () => {
  beforeAll(async () => {
    await ensureCluster();
    await ensureRealNode();
    await ensurePlatform();
    await ensureChaosMesh();
    await ensureChaosDaemon();
  }, 60 * 60_000);

  afterAll(() => {
    kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', experiment]);
  });

  it('when gateway-catalog-partition runs, then catalog routes fail through the gateway while catalog stays up, and answer again after', async () => {
    // Before: the gateway reaches catalog.
    await waitFor(async () => reached(await throughGateway()), 'a catalog route answered through the gateway', 60_000, 1_000);
    expect(await catalogDirect()).toBe(200);

    kubectl(['apply', '-f', experiment]);
    // During: the gateway's requests to catalog go nowhere (5xx: timeout or open breaker); catalog itself answers.
    const during: number[] = [];
    await waitFor(
      async () => {
        const status = await throughGateway();
        during.push(status);
        return status >= 500;
      },
      'catalog routes failing through the gateway',
      90_000,
      1_000,
    );
    expect(await catalogDirect()).toBe(200);
    const injected = JSON.parse(kubectl(['get', 'networkchaos', '-n', platformNamespace, 'gateway-catalog-partition', '-o', 'json'])) as {
      status?: { conditions?: { type: string; status: string }[] };
    };
    expect(injected.status?.conditions?.find((c) => c.type === 'AllInjected')?.status).toBe('True');

    // After: deleting the experiment recovers it (chaos-daemon removes the rules); the gateway reaches catalog again.
    const healedFrom = Date.now();
    kubectl(['delete', '-f', experiment]);
    await waitFor(async () => reached(await throughGateway()), 'catalog routes answering again through the gateway', 120_000, 1_000);
    console.log(`real node NetworkChaos partition: answers during ${JSON.stringify(during)}; gateway → catalog again ${((Date.now() - healedFrom) / 1000).toFixed(1)} s after the delete`);
  }, 6 * 60_000);
});
