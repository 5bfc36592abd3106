/**
 * Argo Rollouts on the real node (issue 27): the controller built from its Go module, the gateway
 * shipped as a canary (the real-node canary profile: two Pods, one canary at 50% by replicas, no
 * Istio here) whose analysis reads the node's Prometheus scraping the Pods. A healthy new version is
 * promoted; a version whose catalog upstream is wrong answers 5xx on catalog routes, and the
 * controller aborts it by itself: the stable ReplicaSet stays, the canary's Pods go.
 *
 * Skipped unless BULWARK_REAL_NODE=1; needs the node, the platform and the images
 * (`npm run cluster -- up --real-node`, `images`, `platform`); the first run builds the controller
 * (tens of minutes). The gateway is a plain Deployment again at the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '@bulwark/test-support';
import { seedDemo } from '../journey.ts';
import { ensureCluster } from '../cluster/index.ts';
import { kubectl } from '../cluster/kubectl.ts';
import { ensureRealNode } from '../cluster/node.ts';
import { ensurePlatform, platformNamespace, unreadyPods } from '../cluster/platform.ts';
import { analysisRuns, driveTraffic, ensureRollouts, rolloutStatus, shipCanary, unshipCanary, type Traffic } from '../cluster/rollouts.ts';
import { repoRoot } from '../cluster/settings.ts';
import { platformUrls } from '../infra/services.ts';

const suite = process.env.BULWARK_REAL_NODE === '1' ? describe : describe.skip;
const CHART = 'gateway';
let traffic: Traffic | undefined;
let workDir = '';

const serviceUrl = (name: string): string => `http://${(JSON.parse(kubectl(['get', 'service', '-n', platformNamespace, name, '-o', 'json'])) as { spec: { clusterIP: string } }).spec.clusterIP}`;

/** Hashes of the gateway Pods that exist now (terminating ones included). */
function podHashes(): string[] {
  const pods = JSON.parse(kubectl(['get', 'pods', '-n', platformNamespace, '-l', `app.kubernetes.io/name=${CHART}`, '-o', 'json'])) as { items: { metadata: { labels?: Record<string, string> } }[] };
  return pods.items.map((p) => p.metadata.labels?.['rollouts-pod-template-hash'] ?? '(deployment)');
}

/** A values file (JSON is YAML) for one version of the gateway. */
function versionValues(name: string, values: unknown): string {
  const file = path.join(workDir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(values));
  return file;
}

suite('Argo Rollouts canary of the gateway on the real node', () => {
  beforeAll(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-rollouts-'));
    await ensureCluster();
    await ensureRealNode();
    await ensurePlatform();
    const started = Date.now();
    await ensureRollouts();
    console.log(`rollouts: controller and node Prometheus up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // The gateway as a Rollout; its first revision goes to 100% without steps.
    shipCanary(CHART, [versionValues('initial', { podAnnotations: { revision: 'initial' } })]);
    await waitFor(() => Promise.resolve(rolloutStatus(CHART).phase === 'Healthy'), 'the gateway Rollout Healthy', 5 * 60_000, 1_000);
    const urls = { gateway: serviceUrl(CHART), inventory: serviceUrl('inventory'), mail: platformUrls().mail };
    const { customer } = await seedDemo(urls);
    // A light catalog read (search is heavy here and answers 503 when the box is busy).
    traffic = driveTraffic(`${urls.gateway}/v1/categories`, customer);
  }, 60 * 60_000);

  afterAll(async () => {
    await traffic?.stop();
    unshipCanary(CHART);
    await waitFor(() => Promise.resolve(unreadyPods().length === 0 && podHashes().every((h) => h === '(deployment)')), 'the gateway a plain Deployment again', 5 * 60_000, 1_000);
    fs.rmSync(workDir, { recursive: true, force: true });
  }, 6 * 60_000);

  it('when the new version answers as before, then the analysis passes and the canary is promoted', async () => {
    const before = rolloutStatus(CHART).stableRS;
    const started = Date.now();
    shipCanary(CHART, [versionValues('good', { podAnnotations: { revision: 'good' } })]);
    await waitFor(() => Promise.resolve(rolloutStatus(CHART).currentPodHash !== before), 'the canary ReplicaSet', 60_000, 500);
    const canary = rolloutStatus(CHART).currentPodHash!;
    await waitFor(
      () => {
        const s = rolloutStatus(CHART);
        if (s.abort) throw new Error(`the healthy canary was aborted: ${s.message}`);
        return Promise.resolve(s.phase === 'Healthy' && s.stableRS === canary);
      },
      'the canary promoted',
      5 * 60_000,
      1_000,
    );
    const runs = analysisRuns(CHART).filter((r) => r.hash === canary);
    console.log(`rollouts: healthy canary ${canary} promoted in ${((Date.now() - started) / 1000).toFixed(1)} s; analysis ${runs.map((r) => r.phase).join(', ')}; traffic ${JSON.stringify(traffic!.byClass)}`);
    expect(runs.map((r) => r.phase)).toContain('Successful');
    expect(runs.map((r) => r.phase)).not.toContain('Failed');
  }, 8 * 60_000);

  it('when the new version answers 5xx, then the analysis fails and the controller aborts back to the stable version by itself', async () => {
    const stable = rolloutStatus(CHART).stableRS!;
    const upstreams = /GATEWAY_UPSTREAMS: (\S+)/.exec(fs.readFileSync(path.join(repoRoot, 'charts/gateway/values.yaml'), 'utf8'))![1]!;
    // Nothing listens on port 9 of the Pod's own loopback: every catalog route answers 5xx.
    const broken = upstreams.replace(/catalog=[^,]+/, 'catalog=http://127.0.0.1:9');
    expect(broken).not.toBe(upstreams);
    const started = Date.now();
    shipCanary(CHART, [versionValues('bad', { podAnnotations: { revision: 'bad' }, config: { GATEWAY_UPSTREAMS: broken } })]);
    await waitFor(() => Promise.resolve(rolloutStatus(CHART).currentPodHash !== stable), 'the canary ReplicaSet', 60_000, 500);
    const bad = rolloutStatus(CHART).currentPodHash!;
    await waitFor(() => Promise.resolve(rolloutStatus(CHART).abort === true), 'the canary aborted', 5 * 60_000, 1_000);
    const aborted = rolloutStatus(CHART);
    const runs = analysisRuns(CHART).filter((r) => r.hash === bad);
    console.log(`rollouts: bad canary ${bad} aborted in ${((Date.now() - started) / 1000).toFixed(1)} s (${aborted.phase}: ${aborted.message}); analysis ${runs.map((r) => r.phase).join(', ')}; traffic ${JSON.stringify(traffic!.byClass)}`);
    expect(traffic!.byClass['5xx'] ?? 0).toBeGreaterThan(0);
    expect(runs.map((r) => r.phase)).toContain('Failed');
    expect(aborted.stableRS).toBe(stable);
    // Rolled back: the bad ReplicaSet's Pods go and the stable one answers everything again, including the
    // stable Pod started after the abort (its own ConfigMap: the canary's config never reaches it). The tail of
    // the canary's drain may still answer a few 5xx while kube-proxy catches up: then 50 answers in a row without.
    await waitFor(() => Promise.resolve(!podHashes().includes(bad) && unreadyPods().length === 0), 'the canary Pods gone', 2 * 60_000, 1_000);
    await waitFor(() => Promise.resolve(traffic!.streak >= 50), '50 answers in a row without a 5xx after the rollback', 2 * 60_000, 200);
    expect(rolloutStatus(CHART).stableRS).toBe(stable);
  }, 8 * 60_000);
});
