import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { clusterObjects, POSTGRES_ENTRYPOINT } from './postgrescluster-manifests.ts';
import type { PostgresCluster } from './postgrescluster-resource.ts';

const entrypointFile = fileURLToPath(new URL('../../postgres/entrypoint.sh', import.meta.url));
const owner: PostgresCluster = { apiVersion: 'bulwark.dev/v1alpha1', kind: 'PostgresCluster', metadata: { name: 'pg', namespace: 'ns' }, spec: { instances: 3 } };

interface StatefulSetShape {
  kind: string;
  spec: { replicas: number; template: { spec: { containers: Array<{ command: string[] }> } } };
}

describe('clusterObjects', () => {
  it('when a cluster is rendered, then the postgres container runs the shipped entrypoint file as it is', () => {
    const statefulSet = clusterObjects({ namespace: 'ns', name: 'pg' }, owner).find((o) => o.kind === 'StatefulSet') as unknown as StatefulSetShape;
    expect(statefulSet.spec.replicas).toBe(3);
    expect(statefulSet.spec.template.spec.containers[0]?.command).toEqual(['/bin/sh', '-c', readFileSync(entrypointFile, 'utf8')]);
    expect(POSTGRES_ENTRYPOINT).toContain('exec postgres -c wal_level=replica');
  });

  it('when the entrypoint is parsed by sh, then it has no syntax error', () => {
    expect(() => execFileSync('sh', ['-n', entrypointFile], { stdio: 'pipe' })).not.toThrow();
  });
});
