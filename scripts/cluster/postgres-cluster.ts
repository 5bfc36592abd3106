/**
 * A PostgresCluster of the platform-operator on the real node (issue 27): the operator Pod installed by
 * `npm run cluster -- platform` reconciles it into its StatefulSet (operators/platform-operator/postgres/
 * entrypoint.sh) running the `postgres` image built here (scripts/cluster/images/postgres), and fails over
 * by fencing (deleting) the old primary's Pod.
 *
 * Two things the operator's objects leave to the cluster are provided here: volumes (there is no
 * StorageClass or provisioner: one hostPath PersistentVolume per claim, bound by claimRef, under
 * .local/cluster/pv) and scheduling (the StatefulSet names no node: its Pod template is patched with the
 * real node's selector and toleration, a field the operator does not set).
 */
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../infra/proc.ts';
import { imageRef } from './images.ts';
import { kubectl } from './kubectl.ts';
import { importImages, realNodeScheduling } from './node.ts';
import { clusterSettings } from './settings.ts';

export const pgNamespace = 'bulwark-pg';
const pvDir = path.join(clusterSettings.dir, 'pv');
/** The image's postgres uid (the StatefulSet's runAsUser): hostPath volumes get no fsGroup. */
const POSTGRES_UID = 999;

export interface PgClusterHandle {
  name: string;
  namespace: string;
  password: string;
}

const claimName = (cluster: string, ordinal: number): string => `data-${cluster}-${ordinal}`;

function applyYaml(name: string, yaml: string): void {
  const file = path.join(clusterSettings.dir, `${name}.yaml`);
  fs.writeFileSync(file, yaml, { mode: 0o600 });
  kubectl(['apply', '-f', file]);
}

/** The roles of the cluster's Pods as the operator labelled them: name → primary | replica | (none). */
export function podRoles(cluster: string): Record<string, string> {
  const list = JSON.parse(kubectl(['get', 'pods', '-n', pgNamespace, '-l', `bulwark.dev/postgrescluster=${cluster}`, '-o', 'json'])) as {
    items: { metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string } }[];
  };
  return Object.fromEntries(list.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => [p.metadata.name, p.metadata.labels?.['bulwark.dev/role'] ?? '']));
}

/**
 * Creates (fresh: any previous cluster of that name and its volumes are removed first) a PostgresCluster of
 * `instances` on the real node and waits until one Pod is labelled primary and every Pod is Ready.
 */
export async function ensurePgCluster(name: string, options: { instances?: number; replication?: 'async' | 'sync'; timeoutMs?: number } = {}): Promise<PgClusterHandle> {
  const { instances = 2, replication = 'async', timeoutMs = 5 * 60_000 } = options;
  removePgCluster(name);
  // The image as built now: `platform` imports only the charts' images, so a rebuilt postgres would stay stale.
  importImages([imageRef('postgres')]);
  const password = `pg-${Math.random().toString(36).slice(2, 14)}`;
  const volumes: string[] = [];
  for (let i = 0; i < instances; i++) {
    const dir = path.join(pvDir, `${pgNamespace}-${claimName(name, i)}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.chownSync(dir, POSTGRES_UID, POSTGRES_UID);
    volumes.push(`apiVersion: v1
kind: PersistentVolume
metadata: { name: ${pgNamespace}-${claimName(name, i)}, labels: { bulwark.dev/postgrescluster: ${name} } }
spec:
  capacity: { storage: 2Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: { namespace: ${pgNamespace}, name: ${claimName(name, i)} }
  hostPath: { path: ${dir}, type: Directory }
`);
  }
  applyYaml(`pg-${name}`, `apiVersion: v1
kind: Namespace
metadata: { name: ${pgNamespace} }
---
${volumes.join('---\n')}---
apiVersion: v1
kind: Secret
metadata: { name: ${name}-credentials, namespace: ${pgNamespace} }
stringData: { POSTGRES_PASSWORD: ${password} }
---
apiVersion: bulwark.dev/v1alpha1
kind: PostgresCluster
metadata: { name: ${name}, namespace: ${pgNamespace} }
spec: { instances: ${instances}, replication: ${replication}, image: ${imageRef('postgres')}, storage: 2Gi }
`);
  // The operator creates the StatefulSet; its Pods go to the real node once the template says so.
  await waitFor(`the operator's StatefulSet ${pgNamespace}/${name}`, () => Promise.resolve(kubectl(['get', 'statefulset', '-n', pgNamespace, '--ignore-not-found', '-o', 'name']).includes(name)), 120_000);
  kubectl(['patch', 'statefulset', '-n', pgNamespace, name, '--type=merge', '-p', JSON.stringify({ spec: { template: { spec: realNodeScheduling } } })]);
  // Pods created from the template before the patch stay Pending on no node: replaced from the new one.
  kubectl(['delete', 'pod', '-n', pgNamespace, '-l', `bulwark.dev/postgrescluster=${name}`, '--field-selector=spec.nodeName=', '--wait=false']);
  await waitForPrimary(name, timeoutMs);
  return { name, namespace: pgNamespace, password };
}

/** Waits until one Pod is labelled primary and every Pod of the cluster is Ready. */
export async function waitForPrimary(name: string, timeoutMs: number): Promise<string> {
  let primary = '';
  await waitFor(
    `a Ready primary of PostgresCluster ${pgNamespace}/${name}`,
    () => {
      const roles = podRoles(name);
      primary = Object.entries(roles).find(([, role]) => role === 'primary')?.[0] ?? '';
      const unready = kubectl(['get', 'pods', '-n', pgNamespace, '-l', `bulwark.dev/postgrescluster=${name}`, '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'])
        .split('\n')
        .filter((s) => s && s !== 'True');
      return Promise.resolve(primary !== '' && unready.length === 0 && Object.keys(roles).length > 0);
    },
    timeoutMs,
  );
  return primary;
}

/** Deletes the PostgresCluster, its claims, volumes and their data, and its failover Lease. */
export function removePgCluster(name: string): void {
  kubectl(['delete', 'postgrescluster', '-n', pgNamespace, name, '--ignore-not-found', '--wait=true', '--timeout=120s']);
  kubectl(['delete', 'statefulset,pod,pvc', '-n', pgNamespace, '-l', `bulwark.dev/postgrescluster=${name}`, '--ignore-not-found', '--wait=true', '--timeout=120s']);
  kubectl(['delete', 'pvc', '-n', pgNamespace, '--ignore-not-found', '--wait=true', '--timeout=60s', ...[0, 1, 2, 3, 4].map((i) => claimName(name, i))]);
  kubectl(['delete', 'pv', '-l', `bulwark.dev/postgrescluster=${name}`, '--ignore-not-found', '--wait=true', '--timeout=60s']);
  // The operator's per-cluster Lease is not owned by the cluster: a record left held would hold off the next cluster's first failover.
  kubectl(['delete', 'lease', '-n', pgNamespace, `${name}-failover`, '--ignore-not-found']);
  for (const entry of fs.existsSync(pvDir) ? fs.readdirSync(pvDir) : []) {
    if (entry.startsWith(`${pgNamespace}-data-${name}-`)) fs.rmSync(path.join(pvDir, entry), { recursive: true, force: true });
  }
}
