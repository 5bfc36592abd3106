/**
 * What a PostgresCluster is made of in a Kubernetes cluster: a StatefulSet
 * whose Pods run the entrypoint shipped beside the operator
 * (`postgres/entrypoint.sh`, read once at load) and the `-rw` / `-ro`
 * Services selecting on the role label.
 */
import { readFileSync } from 'node:fs';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ClusterRef } from '../postgres/driver.ts';
import { CLUSTER_LABEL, type PostgresCluster, ROLE_LABEL, specOf } from './postgrescluster-resource.ts';

/**
 * The postgres container's entrypoint (`sh -c`): a Pod never starts as a primary on its own; see the
 * file's header. Resolved from the package root, the same from `src/` and `dist/`.
 */
export const POSTGRES_ENTRYPOINT = readFileSync(new URL('../../postgres/entrypoint.sh', import.meta.url), 'utf8');

/** The StatefulSet and the two Services of a cluster (same shape as manifests/data/postgres.yaml). */
export function clusterObjects(cluster: ClusterRef, owner: PostgresCluster): KubernetesObject[] {
  const spec = specOf(owner);
  const labels = { 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/part-of': 'bulwark', [CLUSTER_LABEL]: cluster.name };
  const service = (role: 'rw' | 'ro'): KubernetesObject =>
    ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${cluster.name}-${role}`, namespace: cluster.namespace, labels },
      spec: { selector: { [CLUSTER_LABEL]: cluster.name, [ROLE_LABEL]: role === 'rw' ? 'primary' : 'replica' }, ports: [{ name: 'postgres', port: 5432, targetPort: 'postgres' }] },
    }) as KubernetesObject;
  const statefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: cluster.name, namespace: cluster.namespace, labels },
    spec: {
      serviceName: cluster.name,
      replicas: spec.instances,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { [CLUSTER_LABEL]: cluster.name } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 60,
          securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'postgres',
              image: owner.spec.image ?? 'postgres:15.13',
              command: ['/bin/sh', '-c', POSTGRES_ENTRYPOINT],
              envFrom: [{ secretRef: { name: `${cluster.name}-credentials` } }],
              env: [
                { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'RW_HOST', value: `${cluster.name}-rw` },
              ],
              ports: [{ name: 'postgres', containerPort: 5432 }],
              readinessProbe: { exec: { command: ['pg_isready', '-U', 'postgres'] }, periodSeconds: 5 },
              resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'data', mountPath: '/var/lib/postgresql/data' },
                { name: 'run', mountPath: '/var/run/postgresql' },
                { name: 'podinfo', mountPath: '/etc/podinfo' },
              ],
            },
          ],
          volumes: [
            { name: 'run', emptyDir: {} },
            { name: 'podinfo', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
          ],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: owner.spec.storage ?? '2Gi' } } } }],
    },
  } as KubernetesObject;
  return [service('rw'), service('ro'), statefulSet];
}
