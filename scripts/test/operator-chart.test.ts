/**
 * charts/platform-operator against the local control plane: it lints and
 * renders on the library chart, carries the operator's CRDs, installs with
 * --wait onto kwok nodes (two replicas), and its ServiceAccount can do exactly
 * what the operator calls and none of a list of things it must never do
 * (checked by the API server's own RBAC authorizer through `kubectl auth can-i --as`).
 * Its alert rules pass their promtool tests, and they and its dashboard query only
 * metrics the operator defines.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { imageWorkspaces, readDockerfile, workspaceDir } from '../cluster/dockerfile.ts';
import { ensureCluster, type ClusterHandle } from '../cluster/index.ts';
import { ensurePrereqs } from '../infra/prereqs.ts';
import { repoRoot } from '../infra/settings.ts';
import { serviceCharts } from '../resource-budget.ts';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const COLD_BUILD_MS = 40 * 60_000;
const chartDir = path.join(repoRoot, 'charts/platform-operator');
const testProfile = path.join(repoRoot, 'charts/_lib/profiles/values-test.yaml');
const namespace = `operator-chart-${randomUUID().slice(0, 8)}`;
let cluster: ClusterHandle;

function exec(cmd: string, args: string[], input?: string): { status: number; out: string } {
  const r = spawnSync(cmd, args, { cwd: repoRoot, input, encoding: 'utf8', maxBuffer: 64 * 2 ** 20, env: { ...process.env, KUBECONFIG: cluster.kubeconfig } });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
function ok(cmd: string, args: string[], input?: string): string {
  const r = exec(cmd, args, input);
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${r.status}:\n${r.out}`);
  return r.out;
}
const helm = (...args: string[]): string => ok(cluster.helm, args);
const kubectl = (...args: string[]): string => ok(cluster.kubectl, [`--kubeconfig=${cluster.kubeconfig}`, ...args]);
const objects = (yaml: string): Obj[] =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => !!o && typeof o === 'object' && 'kind' in o);

const ruleFiles = (): string[] =>
  fs
    .readdirSync(path.join(chartDir, 'alerts'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => path.join(chartDir, 'alerts', f));
const dashboardFiles = (): string[] =>
  fs
    .readdirSync(path.join(chartDir, 'dashboards'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.join(chartDir, 'dashboards', f));
const alertNames = (): string[] => ruleFiles().flatMap((f) => [...fs.readFileSync(f, 'utf8').matchAll(/alert:\s*(\S+)/g)].map((m) => m[1]!));

beforeAll(async () => {
  cluster = await ensureCluster();
  helm('dependency', 'build', chartDir);
  kubectl('create', 'namespace', namespace);
}, COLD_BUILD_MS);

afterAll(() => {
  if (cluster) spawnSync(cluster.kubectl, [`--kubeconfig=${cluster.kubeconfig}`, 'delete', 'namespace', namespace, '--wait=false'], { stdio: 'ignore' });
});

describe('charts/platform-operator', () => {
  it('when listed with the service charts, then it is not one (no mesh routing, canary or request SLO)', () => {
    expect(serviceCharts()).not.toContain('platform-operator');
    expect(fs.readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8')).toBe(fs.readFileSync(path.join(repoRoot, 'charts/_lib/values.schema.json'), 'utf8'));
  });

  it('when linted and rendered, then it has two hardened replicas with the API token, its CRDs, and no service-only objects', () => {
    helm('lint', chartDir, '-f', testProfile);
    const objs = objects(helm('template', 'op', chartDir, '--namespace', namespace, '--include-crds'));
    const kinds = objs.map((o) => o.kind as string);
    expect(kinds).toEqual(expect.arrayContaining(['CustomResourceDefinition', 'ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule', 'ClusterRole', 'ClusterRoleBinding']));
    for (const kind of ['HorizontalPodAutoscaler', 'VirtualService', 'Rollout', 'Role', 'RoleBinding']) expect(kinds).not.toContain(kind);
    const crds = objs.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name as string).sort();
    const shipped = fs.readdirSync(path.join(repoRoot, 'operators/platform-operator/crds')).filter((f) => f.endsWith('.yaml'));
    expect(crds).toHaveLength(shipped.length);
    expect(crds).toEqual(expect.arrayContaining(['crontasks.bulwark.dev', 'postgresclusters.bulwark.dev']));

    const deployment = objs.find((o) => o.kind === 'Deployment')!;
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(pod.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.containers[0].readinessProbe.httpGet.path).toBe('/readyz');
    const env = objs.find((o) => o.kind === 'ConfigMap' && (o.metadata.name as string).endsWith('-env'))!.data as Record<string, string>;
    // The leader Lease lives in the release namespace; timings obey duration > deadline > 1.2 × retry.
    expect(env.POD_NAMESPACE).toBe(namespace);
    expect(Number(env.LEASE_DURATION_MS)).toBeGreaterThan(Number(env.RENEW_DEADLINE_MS));
    expect(Number(env.RENEW_DEADLINE_MS)).toBeGreaterThan(1.2 * Number(env.RETRY_PERIOD_MS));
    const binding = objs.find((o) => o.kind === 'ClusterRoleBinding')!;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: objs.find((o) => o.kind === 'ServiceAccount')!.metadata.name, namespace }]);
  });

  it('when rendered, then its image is one the repository builds: a Dockerfile in the shared pattern and a Tilt docker_build', () => {
    const deployment = objects(helm('template', 'op', chartDir, '--namespace', namespace)).find((o) => o.kind === 'Deployment')!;
    const repository = (deployment.spec.template.spec.containers[0].image as string).split(':')[0]!;
    const name = repository.replace(/^bulwark\//, '');
    expect(repository).toBe(`bulwark/${name}`);
    expect(imageWorkspaces()).toContain(name);
    expect(workspaceDir(name)).toBe('operators/platform-operator');
    expect(readDockerfile(name).stages.at(-1)!.instructions.filter((i) => i.op === 'CMD').at(-1)!.args).toContain('src/main.ts');
    const tiltfile = fs.readFileSync(path.join(repoRoot, 'Tiltfile'), 'utf8');
    expect(tiltfile).toMatch(/docker_build\(\s*'bulwark\/' \+ name,[\s\S]*dockerfile=op_dir \+ '\/Dockerfile'/);
    expect(tiltfile).toContain("name = 'platform-operator'");
  });

  it('when rendered, then the PrometheusRule carries alerts/ and a grafana_dashboard ConfigMap carries dashboards/', () => {
    const objs = objects(helm('template', 'op', chartDir, '--namespace', namespace));
    const rule = objs.find((o) => o.kind === 'PrometheusRule')!;
    const shippedAlerts = (rule.spec.groups as Obj[]).flatMap((g) => (g.rules as Obj[]).map((r) => r.alert as string));
    expect(shippedAlerts.sort()).toEqual(alertNames().sort());
    const dashboards = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1')!;
    expect(Object.keys(dashboards.data as Record<string, string>).sort()).toEqual(dashboardFiles().map((f) => path.basename(f)).sort());
  });

  it('when its alert rules are unit-tested with promtool, then every test passes', () => {
    ensurePrereqs(['prometheus']);
    const tests = fs.readdirSync(path.join(chartDir, 'tests')).filter((f) => f.endsWith('.test.yaml'));
    expect(tests.length).toBeGreaterThan(0);
    ok('promtool', ['check', 'rules', ...ruleFiles()]);
    expect(ok('promtool', ['test', 'rules', ...tests.map((f) => path.join(chartDir, 'tests', f))])).toContain('SUCCESS');
    const names = alertNames();
    for (const expected of ['PlatformOperatorCronTaskTicksMissed', 'PlatformOperatorCronTaskTicksSkipped', 'PlatformOperatorCronTaskRunsFailing', 'PlatformOperatorNoLeader']) expect(names).toContain(expected);
    // Each alert has a test that evaluates it (firing and silent cases are in the file).
    const testText = tests.map((f) => fs.readFileSync(path.join(chartDir, 'tests', f), 'utf8')).join('\n');
    for (const name of names) expect(testText).toContain(`alertname: ${name}\n`);
  });

  it('when its dashboards are parsed, then each is Grafana JSON on the datasource variable with unique panel ids', () => {
    const files = dashboardFiles();
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const dashboard = JSON.parse(fs.readFileSync(file, 'utf8')) as Obj;
      expect(dashboard.uid).toMatch(/^bulwark-/);
      const panels = dashboard.panels as Obj[];
      const ids = panels.map((p) => p.id as number);
      expect(new Set(ids).size).toBe(ids.length);
      const targets = panels.flatMap((p) => (p.targets ?? []) as Obj[]);
      expect(targets.length).toBeGreaterThan(0);
      for (const t of targets) expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('when the alert rules and dashboards are read, then every operator_* metric they query is one the operator defines', () => {
    const sources = (fs.readdirSync(path.join(repoRoot, 'operators/platform-operator/src'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => fs.readFileSync(path.join(repoRoot, 'operators/platform-operator/src', f), 'utf8'))
      .join('\n');
    const defined = new Set([...sources.matchAll(/name: '(operator_[a-z_]+)'/g)].map((m) => m[1]!));
    expect(defined).toContain('operator_crontask_ticks_total');
    const queried = [...ruleFiles(), ...dashboardFiles()].flatMap((f) => [...fs.readFileSync(f, 'utf8').matchAll(/\b(operator_[a-z_]+)/g)].map((m) => m[1]!));
    expect(queried.length).toBeGreaterThan(0);
    const unknown = [...new Set(queried)].filter((m) => !defined.has(m) && !defined.has(m.replace(/_(bucket|sum|count)$/, '')));
    expect(unknown).toEqual([]);
  });

  describe('installed on the kwok nodes', () => {
    const release = `op-${randomUUID().slice(0, 6)}`;
    let sa: string;

    beforeAll(() => {
      // CRDs are cluster-wide and shared with the operator's own tests: apply them, never delete them here.
      kubectl('apply', '--server-side', '--force-conflicts', '--field-manager=operator-chart-test', '-f', path.join(repoRoot, 'operators/platform-operator/crds'));
      helm('install', release, chartDir, '--namespace', namespace, '-f', testProfile, '--skip-crds', '--wait', '--timeout', '3m');
      sa = `system:serviceaccount:${namespace}:${kubectl('get', 'serviceaccount', '-n', namespace, '-l', `app.kubernetes.io/instance=${release}`, '-o', 'jsonpath={.items[0].metadata.name}')}`;
    }, 5 * 60_000);

    afterAll(() => {
      if (cluster) spawnSync(cluster.helm, ['uninstall', release, '--namespace', namespace, '--wait'], { env: { ...process.env, KUBECONFIG: cluster.kubeconfig }, stdio: 'ignore' });
    });

    it('when installed with --wait, then both replicas are Running', () => {
      const phases = kubectl('get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${release}`, '-o', 'jsonpath={.items[*].status.phase}').split(/\s+/).filter(Boolean);
      expect(phases).toEqual(['Running', 'Running']);
    });

    const can = (verb: string, resource: string, ns = 'some-team'): boolean => {
      const out = exec(cluster.kubectl, [`--kubeconfig=${cluster.kubeconfig}`, 'auth', 'can-i', verb, resource, '-n', ns, `--as=${sa}`]).out;
      // Cluster-scoped resources add "Warning: resource 'nodes' is not namespace scoped".
      const answer = out.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('Warning:')).join(' ');
      // Anything but a plain yes/no (an unknown resource, a bad flag) must fail the test, not read as "no".
      if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl auth can-i ${verb} ${resource}: ${answer}`);
      return answer === 'yes';
    };

    it.each([
      ['watch', 'crontasks.bulwark.dev'],
      ['patch', 'crontasks.bulwark.dev/status'],
      ['update', 'postgresclusters.bulwark.dev/finalizers'],
      ['create', 'crontaskruns.bulwark.dev'],
      ['delete', 'crontaskruns.bulwark.dev'],
      ['create', 'jobs.batch'],
      ['patch', 'statefulsets.apps'],
      ['patch', 'services'],
      ['delete', 'pods'],
      ['create', 'endpointslices.discovery.k8s.io'],
      ['get', 'secrets'],
      ['update', 'leases.coordination.k8s.io'],
      ['create', 'events.events.k8s.io'],
    ])('when the ServiceAccount asks to %s %s, then it may (the operator calls it)', (verb, resource) => {
      expect(can(verb, resource)).toBe(true);
    });

    it.each([
      ['list', 'secrets'],
      ['create', 'configmaps'],
      ['delete', 'secrets'],
      ['create', 'deployments.apps'],
      ['delete', 'statefulsets.apps'],
      ['delete', 'crontasks.bulwark.dev'],
      ['create', 'clusterroles.rbac.authorization.k8s.io'],
      ['create', 'rolebindings.rbac.authorization.k8s.io'],
      ['delete', 'nodes'],
      ['create', 'pods/exec'],
      ['impersonate', 'serviceaccounts'],
    ])('when the ServiceAccount asks to %s %s, then it may not', (verb, resource) => {
      expect(can(verb, resource)).toBe(false);
    });
  });
});
