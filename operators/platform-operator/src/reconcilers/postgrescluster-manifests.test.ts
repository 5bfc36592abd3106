import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { clusterObjects, hbaRules, PGDATA, POSTGRES_ENTRYPOINT, REPLICATION_NETWORKS } from './postgrescluster-manifests.ts';
import type { PostgresCluster } from './postgrescluster-resource.ts';

const entrypointFile = fileURLToPath(new URL('../../postgres/entrypoint.sh', import.meta.url));
const owner: PostgresCluster = { apiVersion: 'bulwark.dev/v1alpha1', kind: 'PostgresCluster', metadata: { name: 'pg', namespace: 'ns' }, spec: { instances: 3 } };

interface ContainerShape {
  command: string[];
  env: Array<{ name: string; value?: string }>;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface StatefulSetShape {
  kind: string;
  spec: { replicas: number; template: { spec: { terminationGracePeriodSeconds: number; containers: ContainerShape[] } } };
}

function renderContainer(): { grace: number; container: ContainerShape } {
  const statefulSet = clusterObjects({ namespace: 'ns', name: 'pg' }, owner).find((o) => o.kind === 'StatefulSet') as unknown as StatefulSetShape;
  const container = statefulSet.spec.template.spec.containers[0];
  if (!container) throw new Error('no container');
  return { grace: statefulSet.spec.template.spec.terminationGracePeriodSeconds, container };
}

describe('clusterObjects', () => {
  it('when a cluster is rendered, then the postgres container runs the shipped entrypoint file as it is', () => {
    const statefulSet = clusterObjects({ namespace: 'ns', name: 'pg' }, owner).find((o) => o.kind === 'StatefulSet') as unknown as StatefulSetShape;
    expect(statefulSet.spec.replicas).toBe(3);
    expect(statefulSet.spec.template.spec.containers[0]?.command).toEqual(['/bin/sh', '-c', readFileSync(entrypointFile, 'utf8')]);
    expect(POSTGRES_ENTRYPOINT).toContain('-c wal_level=replica');
  });

  it('when the entrypoint is parsed by sh, then it has no syntax error', () => {
    expect(() => execFileSync('sh', ['-n', entrypointFile], { stdio: 'pipe' })).not.toThrow();
  });

  it('when a Pod is deleted, then its preStop hook stops PostgreSQL with a fast shutdown of the data directory before the grace ends', () => {
    const { grace, container } = renderContainer();
    const command = container.lifecycle?.preStop?.exec?.command ?? [];
    expect(command.slice(0, 2)).toEqual(['pg_ctl', 'stop']);
    expect(command[command.indexOf('-D') + 1]).toBe(PGDATA);
    expect(container.env.find((e) => e.name === 'PGDATA')?.value).toBe(PGDATA);
    expect(command[command.indexOf('-m') + 1]).toBe('fast');
    expect(command).toContain('-w');
    const timeout = Number(command[command.indexOf('-t') + 1]);
    expect(timeout).toBeGreaterThan(0);
    expect(timeout).toBeLessThan(grace);
  });

  it('when a cluster is rendered, then its Pods carry the operator\'s pg_hba and both postgres starts use it as hba_file', () => {
    const { container } = renderContainer();
    expect(container.env.find((e) => e.name === 'PG_HBA')?.value).toBe(hbaRules());
    const own = clusterObjects({ namespace: 'ns', name: 'pg' }, { ...owner, spec: { ...owner.spec, replicationNetworks: ['10.245.0.0/24'] } }).find((o) => o.kind === 'StatefulSet') as unknown as StatefulSetShape;
    expect(own.spec.template.spec.containers[0]?.env.find((e) => e.name === 'PG_HBA')?.value).toBe(hbaRules(['10.245.0.0/24']));
    const starts = POSTGRES_ENTRYPOINT.split('\n').filter((line) => /exec (docker-entrypoint\.sh )?postgres /.test(line));
    expect(starts).toHaveLength(2);
    for (const line of starts) expect(line).toContain('-c hba_file="$hba"');
    expect(POSTGRES_ENTRYPOINT).toContain('printf \'%s\' "$PG_HBA" > "$hba"');
    // The file goes to the Pod's writable run volume, never into PGDATA (initdb, pg_basebackup and pg_rewind write there).
    expect(POSTGRES_ENTRYPOINT).toContain('hba=/var/run/postgresql/pg_hba.conf');
    expect(container.volumeMounts).toContainEqual({ name: 'run', mountPath: '/var/run/postgresql' });
  });
});

describe('hbaRules', () => {
  const rules = (networks?: readonly string[]): string[][] =>
    hbaRules(networks)
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(/\s+/));

  it('when rendered, then the replication user may replicate by SCRAM from each cluster network and from nowhere else', () => {
    const replication = rules().filter((r) => r[1] === 'replication');
    expect(replication).toEqual(REPLICATION_NETWORKS.map((network) => ['host', 'replication', 'postgres', network, 'scram-sha-256']));
    expect(rules(['10.244.0.0/16']).filter((r) => r[1] === 'replication')).toEqual([['host', 'replication', 'postgres', '10.244.0.0/16', 'scram-sha-256']]);
  });

  it('when rendered, then only the local socket is trusted and every TCP connection needs a SCRAM password', () => {
    for (const rule of rules()) {
      if (rule[0] === 'local') expect(rule).toEqual(['local', 'all', 'all', 'trust']);
      else expect(rule.at(-1)).toBe('scram-sha-256');
    }
    expect(rules()).toContainEqual(['host', 'all', 'all', 'all', 'scram-sha-256']);
  });
});
