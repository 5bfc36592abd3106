/**
 * The control-plane processes, in start order: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and kwok. Each runs detached from
 * the caller with its pid file in .local/cluster/run and its log in
 * .local/cluster/logs; health is the component's own endpoint, and `down`
 * stops a process only when its pid file points at our binary on our port.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { ServerStatus } from '../infra/server.ts';
import { isOurProcess, readPid, startDetached, stopIfOnAnotherPort, stopPid, tcpProbe, waitFor } from '../infra/proc.ts';
import { binPath, type Binary } from './build.ts';
import { kubeletClient, pki } from './certs.ts';
import { clusterSettings } from './settings.ts';

const { host, ports, logDir, runDir, pkiDir } = clusterSettings;

export interface ClusterComponent {
  name: Binary;
  url: string;
  logFile: string;
  status(): Promise<ServerStatus>;
  /** Starts the process unless it is already healthy; waits until it is. */
  up(): Promise<void>;
  /** Stops the process only if we started it. */
  down(): Promise<void>;
}

interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  /** Loopback probe of a component serving a self-signed cert it made in memory. */
  insecure?: boolean;
}

/** GET that resolves to the body on 200, undefined on anything else (never throws). */
function get(url: string, tls: TlsOptions = {}, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const onResponse = (res: http.IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
    };
    const req = url.startsWith('https:')
      ? https.get(url, { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure, timeout: timeoutMs }, onResponse)
      : http.get(url, { timeout: timeoutMs }, onResponse);
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

interface ComponentSpec {
  name: Binary;
  url: string;
  port: number;
  portEnv: string;
  healthy: () => Promise<boolean>;
  args: () => string[];
  readyTimeoutMs: number;
  /**
   * Reuse a healthy process we did not start. Only for the API server, whose
   * health check authenticates with our PKI: a stray scheduler or kwok on the
   * port may be serving another cluster, or hold certs of an older PKI.
   */
  reuseForeign?: boolean;
}

/** Pids running `binary` (our build), to name the process in the way of a start. */
function pidsRunning(binary: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(`${binary}\0`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function detachedComponent(spec: ComponentSpec): ClusterComponent {
  const binary = binPath(spec.name);
  const pidFile = path.join(runDir, `${spec.name}.pid`);
  const logFile = path.join(logDir, `${spec.name}.log`);
  // Our binary and our port: a pid file left from a run on another port does not claim this one.
  const ours = (): boolean => {
    const pid = readPid(pidFile);
    return isOurProcess(pid, binary) && isOurProcess(pid, String(spec.port));
  };
  const waitHealthy = (): Promise<void> => waitFor(`${spec.name} on :${spec.port}`, spec.healthy, spec.readyTimeoutMs, logFile);
  return {
    name: spec.name,
    url: spec.url,
    logFile,
    async status() {
      return { healthy: await spec.healthy(), ours: ours() };
    },
    async up() {
      // Ours, but started on another port (a moved variable or default): it holds the data dir, so stop it first.
      // (ours() also covers a component still starting, e.g. etcd with only its peer port open.)
      if (!ours()) await stopIfOnAnotherPort(pidFile, binary, [spec.port], 30_000);
      const healthy = await spec.healthy();
      if (healthy && (ours() || spec.reuseForeign)) return;
      if (ours()) return waitHealthy();
      if (healthy || (await tcpProbe(host, spec.port))) {
        const strays = pidsRunning(binary);
        const holder = strays.length > 0 ? `${spec.name} pid ${strays.join(', ')}, which has no pid file here (stop it)` : `something that is not our ${spec.name}`;
        throw new Error(`port ${spec.port} is taken by ${holder}; or set ${spec.portEnv}`);
      }
      startDetached(binary, spec.args(), logFile, pidFile);
      await waitHealthy();
    },
    async down() {
      const pid = readPid(pidFile);
      // Our binary from our pid file, on whatever port it was started with.
      if (!isOurProcess(pid, binary)) return;
      await stopPid(pid!, 30_000);
      fs.rmSync(pidFile, { force: true });
    },
  };
}

const etcdUrl = `http://${host}:${ports.etcdClient}`;
const etcdPeerUrl = `http://${host}:${ports.etcdPeer}`;

export const etcd = detachedComponent({
  name: 'etcd',
  url: etcdUrl,
  port: ports.etcdClient,
  portEnv: 'BULWARK_ETCD_PORT',
  healthy: async () => (await get(`${etcdUrl}/health`))?.includes('"health":"true"') ?? false,
  args: () => [
    '--name=bulwark',
    `--data-dir=${path.join(clusterSettings.etcdDir, 'data')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${etcdPeerUrl}`,
    `--initial-advertise-peer-urls=${etcdPeerUrl}`,
    `--initial-cluster=bulwark=${etcdPeerUrl}`,
    // Test data is disposable; fsync on a disk shared with other test runs is what makes etcd slow.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ],
  readyTimeoutMs: 30_000,
});

const apiserverUrl = `https://${host}:${ports.apiserver}`;
function adminTls(): TlsOptions {
  const read = (file: string): string | undefined => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);
  return { ca: read(pki.caCert), cert: read(path.join(pkiDir, 'admin.crt')), key: read(path.join(pkiDir, 'admin.key')) };
}

export const apiserver = detachedComponent({
  name: 'kube-apiserver',
  url: apiserverUrl,
  port: ports.apiserver,
  portEnv: 'BULWARK_KUBE_APISERVER_PORT',
  healthy: async () => (await get(`${apiserverUrl}/readyz`, adminTls())) !== undefined,
  args: () => [
    `--etcd-servers=${etcdUrl}`,
    `--bind-address=${host}`,
    `--advertise-address=${host}`,
    `--secure-port=${ports.apiserver}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    // What it presents to a kubelet (the real node's: logs, exec, port-forward); kwok's fake ones ignore it.
    `--kubelet-client-certificate=${kubeletClient.cert}`,
    `--kubelet-client-key=${kubeletClient.key}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-cluster-ip-range=${clusterSettings.serviceCidr}`,
    // The `kubernetes` Service cannot point at a loopback address, and nothing in-cluster could reach it anyway.
    '--endpoint-reconciler-type=none',
    // ConfigMap watches go straight to etcd, so a compacted resourceVersion answers 410 Gone
    // even on a young server (the watch cache would otherwise still replay from its own history).
    '--watch-cache-sizes=configmaps#0',
    '--authorization-mode=RBAC',
    '--allow-privileged=true',
    '--profiling=false',
    '--event-ttl=1h',
  ],
  readyTimeoutMs: 60_000,
  reuseForeign: true,
});

const kubeconfigOf = (name: string): string => path.join(pkiDir, `${name}.kubeconfig`);

export const controllerManager = detachedComponent({
  name: 'kube-controller-manager',
  url: `https://${host}:${ports.controllerManager}`,
  port: ports.controllerManager,
  portEnv: 'BULWARK_KUBE_CONTROLLER_MANAGER_PORT',
  healthy: async () => (await get(`https://${host}:${ports.controllerManager}/healthz`, { insecure: true })) !== undefined,
  args: () => [
    `--kubeconfig=${kubeconfigOf('kube-controller-manager')}`,
    `--bind-address=${host}`,
    `--secure-port=${ports.controllerManager}`,
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.caCert}`,
    `--service-cluster-ip-range=${clusterSettings.serviceCidr}`,
    '--use-service-account-credentials=true',
    // One instance: leader election would only add a lease wait after a restart.
    '--leader-elect=false',
    '--profiling=false',
  ],
  readyTimeoutMs: 60_000,
});

export const scheduler = detachedComponent({
  name: 'kube-scheduler',
  url: `https://${host}:${ports.scheduler}`,
  port: ports.scheduler,
  portEnv: 'BULWARK_KUBE_SCHEDULER_PORT',
  healthy: async () => (await get(`https://${host}:${ports.scheduler}/healthz`, { insecure: true })) !== undefined,
  args: () => [
    `--kubeconfig=${kubeconfigOf('kube-scheduler')}`,
    `--bind-address=${host}`,
    `--secure-port=${ports.scheduler}`,
    '--leader-elect=false',
    '--profiling=false',
  ],
  readyTimeoutMs: 60_000,
});

export const kwok = detachedComponent({
  name: 'kwok',
  url: `http://${host}:${ports.kwok}`,
  port: ports.kwok,
  portEnv: 'BULWARK_KWOK_PORT',
  healthy: async () => (await get(`http://${host}:${ports.kwok}/healthz`)) !== undefined,
  args: () => [
    `--kubeconfig=${kubeconfigOf('kwok')}`,
    `--server-address=${host}:${ports.kwok}`,
    '--manage-all-nodes=false',
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    '--manage-nodes-with-label-selector=',
    '--disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom',
    '--disregard-status-with-label-selector=',
    '--cidr=10.244.0.0/16',
    '--node-ip=10.244.0.1',
    // A restarted kwok only takes over a node once the previous instance's lease expires: keep that wait short.
    '--node-lease-duration-seconds=10',
  ],
  readyTimeoutMs: 30_000,
});

/** Every component, in start order (stop in reverse). */
export const components: ClusterComponent[] = [etcd, apiserver, controllerManager, scheduler, kwok];
