/**
 * Integration-test plumbing: the real local control plane (scripts/cluster),
 * a namespace per test with a random suffix, and polling without timing
 * assertions.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { eventually as pollUntil } from '@bulwark/test-support';
import { ensureCluster } from '../../../scripts/cluster/index.ts';

/** The first run on a machine builds Kubernetes from source. */
export const CLUSTER_START_MS = 40 * 60_000;

export async function connect(): Promise<KubeConfig> {
  const { kubeconfig } = await ensureCluster({ crds: false });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}

/** Path of the local control plane's admin kubeconfig (for operator child processes). */
export async function kubeconfigPath(): Promise<string> {
  return (await ensureCluster({ crds: false })).kubeconfig;
}

/**
 * Installs the operator's CRDs the way a user would (kubectl apply, waiting
 * until established). Cluster-scoped and shared by concurrent test files, so
 * they are applied idempotently and never deleted.
 */
export async function installCrds(): Promise<void> {
  const { kubeconfig, kubectl } = await ensureCluster({ crds: false });
  const dir = fileURLToPath(new URL('../crds/', import.meta.url));
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', '--field-manager', 'bulwark-tests', '-f', dir], { stdio: 'pipe' });
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', 'crd/crontasks.bulwark.dev', 'crd/crontaskruns.bulwark.dev'], {
    stdio: 'pipe',
  });
}

export async function createNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

export async function deleteNamespace(kc: KubeConfig | undefined, name: string | undefined): Promise<void> {
  if (!kc || !name) return;
  await kc.makeApiClient(CoreV1Api).deleteNamespace({ name }).catch(() => undefined);
}

/**
 * test-support's eventually (polls until `done` holds, fails naming the last value read), every 100 ms
 * rather than 25: most reads here are API server requests, on a box the whole suite shares.
 */
export function eventually<T>(what: string, read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  return pollUntil(what, read, done, timeoutMs, 100);
}
