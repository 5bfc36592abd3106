/**
 * A real Kubernetes control plane for tests on a machine without Docker:
 * etcd, kube-apiserver (client-cert auth, RBAC, default admission plugins),
 * kube-controller-manager and kube-scheduler built from source, plus kwok
 * faking the kubelets of two Nodes so Pods are scheduled and turn Running
 * without containers. Upstream CRDs (Istio, Argo Rollouts, Chaos Mesh,
 * prometheus-operator) are applied on top.
 *
 * Everything lives under the git-ignored .local/cluster:
 *   bin/         binaries, built once per machine (versions.json says which)
 *   pki/         CA, serving/client certs, service-account key, per-component kubeconfigs
 *   kubeconfig   admin kubeconfig (system:masters), certs embedded
 *   etcd/        etcd data; delete it (after `down`) for an empty cluster
 *   logs/, run/  one log and one pid file per process
 *
 * `ensureCluster()` is what tests and `npm run cluster -- up` call: it builds
 * what is missing, reuses components that are healthy and starts the rest.
 * The first call on a machine builds Kubernetes from source (tens of
 * minutes on two cores); later calls take seconds.
 *
 * Pods only reach the fake nodes with `fakeNodeScheduling` (a nodeSelector
 * and a toleration for the kwok taint). Nothing runs in those Pods: there is
 * no kubelet, container runtime, kube-proxy or CNI, so Services have no data
 * plane. Use it for API-level behaviour (controllers, operators, admission,
 * scheduling, Helm rendering and install), not for traffic.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isOurProcess, readPid, waitFor } from '../infra/proc.ts';
import { binPath, ensureBinaries } from './build.ts';
import { ensureKubeletClientCert, ensurePki, writeKubeconfigs } from './certs.ts';
import { apiserver, components, controllerManager, etcd, kwok, scheduler } from './components.ts';
import { ensureCrds } from './crds.ts';
import { kubectl } from './kubectl.ts';
import { clusterSettings } from './settings.ts';

export type { ClusterComponent } from './components.ts';
export { components } from './components.ts';
export { ensureCrds } from './crds.ts';
export { clusterSettings, crdSources, fakeNodeScheduling, versions } from './settings.ts';

export interface ClusterHandle {
  /** Admin kubeconfig (system:masters). */
  kubeconfig: string;
  /** kubectl v1.34 binary. */
  kubectl: string;
  /** helm v4 binary. */
  helm: string;
}

function fakeNodeManifest(name: string, index: number): string {
  // Shape from kwok's docs: the annotation selects it for kwok, the taint keeps ordinary Pods off it.
  return `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
  labels:
    type: kwok
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: ${name}
    node-role.kubernetes.io/agent: ""
    topology.kubernetes.io/zone: zone-${String.fromCharCode(97 + index)}
spec:
  taints:
    - { key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule }
status:
  allocatable: { cpu: "32", memory: 256Gi, pods: "110" }
  capacity: { cpu: "32", memory: 256Gi, pods: "110" }
  nodeInfo: { architecture: amd64, operatingSystem: linux, kubeletVersion: fake, kubeProxyVersion: fake }
`;
}

function ensureFakeNodes(): void {
  const file = path.join(clusterSettings.dir, 'fake-nodes.yaml');
  fs.writeFileSync(file, clusterSettings.fakeNodes.map(fakeNodeManifest).join('---\n'));
  kubectl(['apply', '-f', file]);
  kubectl(['wait', '--for=condition=Ready', '--timeout=60s', ...clusterSettings.fakeNodes.map((n) => `node/${n}`)]);
}

const lockFile = path.join(clusterSettings.dir, 'cluster.lock');

/**
 * One start or stop at a time per checkout: a cold build is long enough for a
 * second caller to arrive, and an `up` racing a `down` would restart half the
 * components against an API server that is going away.
 */
async function withClusterLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(clusterSettings.dir, { recursive: true });
  const acquire = async (): Promise<boolean> => {
    try {
      fs.writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch {
      // A holder that died leaves its file behind; the next poll takes the lock.
      // (A file without a pid yet is a holder between create and write, unless it is old.)
      const holder = readPid(lockFile);
      const ageMs = Date.now() - (fs.statSync(lockFile, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (holder === undefined ? ageMs > 5_000 : !isOurProcess(holder, 'node')) fs.rmSync(lockFile, { force: true });
      return false;
    }
  };
  await waitFor(`the lock ${lockFile} (another cluster up/down is running)`, acquire, 45 * 60_000);
  try {
    return await fn();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

/**
 * Brings the local cluster up (build, certs, processes, fake nodes, CRDs),
 * reusing whatever already runs healthy. Safe to call repeatedly and from
 * several scripts; returns where the kubeconfig and client binaries are.
 */
export function ensureCluster(options: { crds?: boolean } = {}): Promise<ClusterHandle> {
  return withClusterLock(() => startCluster(options.crds ?? true));
}

async function startCluster(crds: boolean): Promise<ClusterHandle> {
  ensureBinaries();
  for (const dir of [clusterSettings.logDir, clusterSettings.runDir, clusterSettings.etcdDir]) fs.mkdirSync(dir, { recursive: true });
  // Components still running with certs of a previous PKI would never reach the new API server.
  if (ensurePki()) await stopComponents();
  ensureKubeletClientCert();
  writeKubeconfigs();
  await etcd.up();
  await apiserver.up();
  await Promise.all([controllerManager.up(), scheduler.up(), kwok.up()]);
  ensureFakeNodes();
  if (crds) ensureCrds();
  return { kubeconfig: clusterSettings.kubeconfig, kubectl: binPath('kubectl'), helm: binPath('helm') };
}

async function stopComponents(): Promise<void> {
  for (const component of [...components].reverse()) await component.down();
}

/** Stops, in reverse start order, every component this checkout started. */
export function stopCluster(): Promise<void> {
  return withClusterLock(stopComponents);
}
