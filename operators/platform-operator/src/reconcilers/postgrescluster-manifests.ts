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

/** Where the data directory lives in the container (the `data` volume's subdirectory). */
export const PGDATA = '/var/lib/postgresql/data/pgdata';

/**
 * Address ranges replicas may connect from for replication unless `spec.replicationNetworks` names
 * others: the private IPv4 ranges and IPv6 unique local addresses, where a cluster's Pod network
 * lives. Physical replication is as powerful as a superuser (it copies every byte), so it is refused
 * from anywhere else even with the password.
 */
export const REPLICATION_NETWORKS: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

/**
 * The Pods' pg_hba.conf, written by the entrypoint outside PGDATA and used through `hba_file`, so the
 * rules are the operator's whatever image runs and whatever an initdb or a pg_basebackup put in PGDATA:
 * local socket trusted (the image's own setup, the readiness probe, pg_ctl), every other connection by
 * SCRAM password, and replication (pg_basebackup, streaming, pg_rewind's source is a normal connection)
 * by the `postgres` user from `networks`. The official image's default has no replication rule beyond
 * loopback, so without this a replica could not clone the primary.
 */
export function hbaRules(networks: readonly string[] = REPLICATION_NETWORKS): string {
  return [
    '# TYPE DATABASE USER ADDRESS METHOD (written by the platform-operator)',
    'local all all trust',
    ...networks.map((network) => `host replication postgres ${network} scram-sha-256`),
    'host all all all scram-sha-256',
    '',
  ].join('\n');
}

/**
 * How long a deleted Pod may take. The preStop hook stops PostgreSQL with a fast shutdown (open
 * sessions are rolled back, then a shutdown checkpoint), so the Pod goes within seconds; without it
 * PID 1 postgres takes the kubelet's SIGTERM as a smart shutdown that waits for every client to
 * disconnect, and a primary with a pool attached went only at SIGKILL after the whole grace (RTO 63 s
 * on the real node). The grace stays long enough for the shutdown checkpoint of a busy primary,
 * which a SIGKILL would turn into crash recovery at the next start.
 */
export const TERMINATION_GRACE_SECONDS = 60;

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
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'postgres',
              image: owner.spec.image ?? 'postgres:15.13',
              command: ['/bin/sh', '-c', POSTGRES_ENTRYPOINT],
              envFrom: [{ secretRef: { name: `${cluster.name}-credentials` } }],
              env: [
                { name: 'PGDATA', value: PGDATA },
                { name: 'PG_HBA', value: hbaRules(owner.spec.replicationNetworks ?? REPLICATION_NETWORKS) },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'RW_HOST', value: `${cluster.name}-rw` },
              ],
              ports: [{ name: 'postgres', containerPort: 5432 }],
              // -t: pg_ctl gives up (and the kubelet's SIGTERM/SIGKILL follow) before the grace ends.
              lifecycle: { preStop: { exec: { command: ['pg_ctl', 'stop', '-D', PGDATA, '-m', 'fast', '-w', '-t', String(TERMINATION_GRACE_SECONDS - 5)] } } },
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
