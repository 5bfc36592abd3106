/**
 * Chaos Mesh on the real node (issue 27): its controller manager, built from its Go module through
 * scripts/cluster/go/chaos-mesh, run as a host process against the API server (like the Rollouts
 * controller, scripts/cluster/rollouts.ts). It runs the PodChaos experiments under chaos/ that need
 * only the API server: pod-kill deletes the Pod, pod-failure swaps its containers' image for the
 * pause image built here. Its admission webhooks are not registered (their server listens on
 * 127.0.0.1 with a self-signed certificate only because the manager will not start without one), and
 * no chaos-daemon runs: NetworkChaos, StressChaos, HTTPChaos and container-kill need the daemon as a
 * privileged Pod on the node (docs/DECISIONS.md).
 *
 * Stopped by `npm run cluster -- down` (stopRealNode).
 */
import fs from 'node:fs';
import path from 'node:path';
import { run, startDetached } from '../infra/proc.ts';
import { ensureChaosControllerManager } from './build.ts';
import { nodeSettings } from './node-config.ts';
import { downProcess, httpOk, upProcess, type NodeProcess } from './node.ts';
import { clusterSettings } from './settings.ts';

const port = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

export const chaosSettings = {
  metricsPort: port('BULWARK_CHAOS_METRICS_PORT', 17294),
  webhookPort: port('BULWARK_CHAOS_WEBHOOK_PORT', 17295),
  certsDir: path.join(nodeSettings.dir, 'chaos', 'certs'),
} as const;

const c = chaosSettings;

function ensureWebhookCert(): void {
  if (fs.existsSync(path.join(c.certsDir, 'tls.crt'))) return;
  fs.mkdirSync(c.certsDir, { recursive: true });
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(c.certsDir, 'tls.key'), '-out', path.join(c.certsDir, 'tls.crt'), '-days', '365', '-subj', '/CN=chaos-mesh-webhook']);
  fs.copyFileSync(path.join(c.certsDir, 'tls.crt'), path.join(c.certsDir, 'ca.crt'));
}

export const chaosControllerProcess: NodeProcess = {
  name: 'chaos-controller-manager',
  expect: 'chaos-controller-manager',
  healthy: () => httpOk(`http://127.0.0.1:${c.metricsPort}/metrics`),
  start: (log, pid) =>
    startDetached(ensureChaosControllerManager(), [`--kubeconfig=${clusterSettings.kubeconfig}`], log, pid, {
      env: {
        ...process.env,
        // One instance: no election. No daemon, so no mTLS to it.
        ENABLE_LEADER_ELECTION: 'false',
        SECURITY_MODE: 'false',
        CHAOSD_SECURITY_MODE: 'false',
        CERTS_DIR: c.certsDir,
        WEBHOOK_HOST: '127.0.0.1',
        WEBHOOK_PORT: String(c.webhookPort),
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(c.metricsPort),
        POD_FAILURE_PAUSE_IMAGE: nodeSettings.pauseImage,
      },
    }),
};

/** Builds the manager when missing (cold: ~38 min), then starts (or reuses) it. Call after ensureRealNode(). */
export async function ensureChaosMesh(): Promise<void> {
  ensureChaosControllerManager();
  ensureWebhookCert();
  await upProcess(chaosControllerProcess, 60_000);
}

export async function stopChaosMesh(): Promise<void> {
  await downProcess(chaosControllerProcess);
}
