/**
 * Chaos Mesh on the real node (issue 27): its controller manager, built from its Go module through
 * scripts/cluster/go/chaos-mesh, run as a host process against the API server (like the Rollouts
 * controller, scripts/cluster/rollouts.ts). It runs the PodChaos experiments under chaos/ that need
 * only the API server: pod-kill deletes the Pod, pod-failure swaps its containers' image for the
 * pause image built here. Its admission webhooks are not registered (their server listens on
 * 127.0.0.1 with a self-signed certificate only because the manager will not start without one).
 *
 * On request (ensureChaosDaemon) chaos-daemon, from the same module, runs as a privileged DaemonSet Pod
 * on the real node (image scripts/cluster/images/chaos-daemon: Debian's tc, iptables, ipset and an nsexec
 * made of nsenter), found by the manager through the EndpointSlice of its `chaos-daemon` Service in
 * `chaos-mesh` and reached over plain gRPC (no mTLS, like the webhooks). What it can do is what this
 * kernel has: ipset + iptables (NetworkChaos partition), tbf (bandwidth without a target); no sch_netem
 * (delay, loss, duplicate, corrupt) and no prio qdisc (tc rules limited to a target).
 *
 * Stopped by `npm run cluster -- down` (stopRealNode); the daemon's Pod goes with the node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run, startDetached, waitFor } from '../infra/proc.ts';
import { ensureChaosControllerManager, ensureChaosDaemon as buildChaosDaemon } from './build.ts';
import { buildStagedImage } from './images.ts';
import { kubectl } from './kubectl.ts';
import { nodeSettings, realNodeScheduling } from './node-config.ts';
import { downProcess, httpOk, importImages, upProcess, type NodeProcess } from './node.ts';
import { clusterSettings, repoRoot } from './settings.ts';

const port = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

export const chaosSettings = {
  metricsPort: port('BULWARK_CHAOS_METRICS_PORT', 17294),
  webhookPort: port('BULWARK_CHAOS_WEBHOOK_PORT', 17295),
  certsDir: path.join(nodeSettings.dir, 'chaos', 'certs'),
  /** Where the daemon's Service lives: the manager looks for `chaos-daemon-*` EndpointSlices there. */
  namespace: 'chaos-mesh',
  daemonGrpcPort: 31767,
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
        // One instance: no election. Plain gRPC to the daemon (CHAOS_MESH_CA_CERT unset).
        ENABLE_LEADER_ELECTION: 'false',
        NAMESPACE: c.namespace,
        CHAOS_DAEMON_SERVICE_PORT: String(c.daemonGrpcPort),
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

/** The daemon's Namespace, headless Service (its EndpointSlice names the node) and DaemonSet on the real node. */
function daemonManifest(image: string, imageId: string): string {
  const labels = { 'app.kubernetes.io/name': 'chaos-mesh', 'app.kubernetes.io/component': 'chaos-daemon' };
  const objects = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: c.namespace } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'chaos-daemon', namespace: c.namespace, labels },
      spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'grpc', port: c.daemonGrpcPort, targetPort: c.daemonGrpcPort }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'chaos-daemon', namespace: c.namespace, labels },
      spec: {
        selector: { matchLabels: labels },
        template: {
          // The image id: a rebuilt image (same tag) replaces the Pod.
          metadata: { labels, annotations: { 'bulwark.dev/image-id': imageId } },
          spec: {
            ...realNodeScheduling,
            // Host PIDs: the daemon enters a target container's namespaces through /proc/<pid>/ns.
            hostPID: true,
            terminationGracePeriodSeconds: 5,
            containers: [
              {
                name: 'chaos-daemon',
                image,
                imagePullPolicy: 'Never',
                args: ['--runtime', 'containerd', '--runtime-socket-path', '/run/containerd/containerd.sock', '--containerd-ns', 'k8s.io', '--grpc-port', String(c.daemonGrpcPort), '--http-port', '31766'],
                securityContext: { privileged: true },
                ports: [{ name: 'grpc', containerPort: c.daemonGrpcPort }],
                readinessProbe: { tcpSocket: { port: c.daemonGrpcPort }, periodSeconds: 2 },
                volumeMounts: [{ name: 'containerd', mountPath: '/run/containerd/containerd.sock' }],
              },
            ],
            volumes: [{ name: 'containerd', hostPath: { path: nodeSettings.containerdSocket, type: 'Socket' } }],
          },
        },
      },
    },
  ];
  return objects.map((o) => JSON.stringify(o)).join('\n---\n');
}

/**
 * chaos-daemon on the real node: builds the binary (cached) and its image from a staged context (the
 * Dockerfile and nsexec of scripts/cluster/images/chaos-daemon plus the binary), imports it, applies the
 * DaemonSet and waits for its Pod Ready. Call after ensureChaosMesh().
 */
export async function ensureChaosDaemon(): Promise<void> {
  const binary = buildChaosDaemon();
  const context = path.join(nodeSettings.dir, 'chaos', 'daemon-image');
  fs.rmSync(context, { recursive: true, force: true });
  fs.mkdirSync(context, { recursive: true });
  for (const file of ['Dockerfile', 'nsexec']) fs.copyFileSync(path.join(repoRoot, 'scripts/cluster/images/chaos-daemon', file), path.join(context, file));
  fs.chmodSync(path.join(context, 'nsexec'), 0o755);
  fs.copyFileSync(binary, path.join(context, 'chaos-daemon'));
  const built = buildStagedImage('chaos-daemon', context);
  importImages([built.ref]);
  const file = path.join(nodeSettings.dir, 'chaos', 'daemon.yaml');
  fs.writeFileSync(file, daemonManifest(built.ref, built.id));
  kubectl(['apply', '-f', file]);
  await waitFor(
    'the chaos-daemon Pod Ready on the real node',
    () => Promise.resolve(kubectl(['get', 'pods', '-n', c.namespace, '-l', 'app.kubernetes.io/component=chaos-daemon', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}']).split(' ').includes('True')),
    120_000,
  );
}
