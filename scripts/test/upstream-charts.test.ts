/**
 * The upstream charts of the kind path (manifests/upstream-charts.json), each
 * fetched from its Go module (scripts/cluster/upstream-charts.ts), rendered
 * with our pinned values file and applied to the local control plane into the
 * namespace Tilt installs it in, as the release name Tilt uses. The settings
 * the values exist for are checked on the rendered objects; the workloads
 * then run as kwok Pods. CRDs and admission webhooks are only dry-run: the API
 * server is shared by every test, the CRDs come from scripts/cluster/settings.ts,
 * and webhooks served by Pods that do not really run would refuse other
 * tests' objects. Applied objects are deleted at the end (the namespaces,
 * from manifests/namespaces.yaml, stay).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { crdSources, ensureCluster, fakeNodeScheduling, type ClusterHandle } from '../cluster/index.ts';
import { ensureUpstreamChart, renderUpstreamChart, upstreamCharts, type UpstreamChart } from '../cluster/upstream-charts.ts';
import { repoRoot } from '../infra/settings.ts';

// The first run on a machine builds Kubernetes from source; later runs start in seconds.
const COLD_BUILD_MS = 40 * 60_000;
const APPLY_MS = 4 * 60_000;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let cluster: ClusterHandle;
const charts = upstreamCharts();
const applied: { namespace: string; yaml: string }[] = [];

function kubectl(args: string[], input?: string): string {
  const result = spawnSync(cluster.kubectl, [`--kubeconfig=${cluster.kubeconfig}`, ...args], { cwd: repoRoot, input, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

function objects(yaml: string): Obj[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => !!o && typeof o === 'object' && 'kind' in o);
}

const toYaml = (objs: Obj[]): string => objs.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');

const find = (objs: Obj[], kind: string, name?: string | RegExp): Obj[] =>
  objs.filter((o) => o.kind === kind && (name === undefined || (typeof name === 'string' ? o.metadata.name === name : name.test(o.metadata.name))));

function one(objs: Obj[], kind: string, name?: string | RegExp): Obj {
  const found = find(objs, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.map((o) => o.metadata.name).join(', ') || 'none'}`);
  return found[0]!;
}

const podSpec = (o: Obj): Obj => (o.kind === 'Pod' ? o.spec : o.spec.template.spec);
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'Pod']);
const DRY_RUN_ONLY = new Set(['CustomResourceDefinition', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);

/**
 * Points every Pod template at the kwok nodes (their nodeSelector and taint
 * toleration instead of the chart's placement), after the placement our values
 * set has been checked on the unmodified render.
 */
function ontoFakeNodes(objs: Obj[]): Obj[] {
  return objs.map((o) => {
    if (!WORKLOADS.has(o.kind)) return o;
    const copy = structuredClone(o);
    const spec = podSpec(copy);
    spec.nodeSelector = { ...fakeNodeScheduling.nodeSelector };
    spec.tolerations = [...(spec.tolerations ?? []), ...fakeNodeScheduling.tolerations];
    if (spec.affinity) delete spec.affinity.nodeAffinity;
    return copy;
  });
}

/** What the pinned values promise, checked on the chart's own render. */
const SETTINGS: Record<string, (objs: Obj[]) => void> = {
  'istio-base': (objs) => {
    expect(find(objs, 'CustomResourceDefinition').map((o) => o.metadata.name)).toContain('virtualservices.networking.istio.io');
    // defaultRevision: default -> the validating webhook for the default revision.
    expect(one(objs, 'ValidatingWebhookConfiguration').metadata.name).toBe('istiod-default-validator');
  },
  istiod: (objs) => {
    const deployment = one(objs, 'Deployment', 'istiod');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.template.spec.containers[0].resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(find(objs, 'HorizontalPodAutoscaler')).toEqual([]);
    const mesh = one(objs, 'ConfigMap', 'istio').data.mesh as string;
    expect(mesh).toMatch(/accessLogFile: \/dev\/stdout/);
    expect(mesh).toMatch(/holdApplicationUntilProxyStarts: true/);
    const injector = JSON.parse(one(objs, 'ConfigMap', 'istio-sidecar-injector').data.values as string) as Obj;
    expect(injector.global.proxy.resources.requests).toEqual({ cpu: '20m', memory: '64Mi' });
  },
  'istio-ingressgateway': (objs) => {
    const service = one(objs, 'Service', 'istio-ingressgateway');
    expect(service.spec.type).toBe('NodePort');
    const nodePorts = Object.fromEntries((service.spec.ports as Obj[]).map((p) => [p.name, p.nodePort]));
    expect(nodePorts).toMatchObject({ http2: 30080, https: 30443 });
    const deployment = one(objs, 'Deployment', 'istio-ingressgateway');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.template.metadata.labels.istio).toBe('ingressgateway');
    expect(deployment.spec.template.spec.nodeSelector).toEqual({ 'ingress-ready': 'true' });
    expect(deployment.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: 1, memory: '256Mi' } });
    expect(find(objs, 'HorizontalPodAutoscaler')).toEqual([]);
  },
  'kube-prometheus-stack': (objs) => {
    const prometheus = one(objs, 'Prometheus').spec;
    expect(prometheus).toMatchObject({ replicas: 1, retention: '2d', scrapeInterval: '15s', serviceMonitorSelector: {}, podMonitorSelector: {}, ruleSelector: {} });
    expect(prometheus.resources.requests).toEqual({ cpu: '200m', memory: '512Mi' });
    expect(prometheus.podMetadata.labels['sidecar.istio.io/inject']).toBe('true');
    expect(prometheus.volumeMounts).toContainEqual({ name: 'istio-certs', mountPath: '/etc/prom-certs/', readOnly: true });
    expect(one(objs, 'Alertmanager').spec.replicas).toBe(1);
    const grafana = one(objs, 'Deployment', /grafana$/).spec.template.spec;
    const sidecar = (grafana.containers as Obj[]).find((c) => c.name === 'grafana-sc-dashboard')!;
    const env = Object.fromEntries((sidecar.env as Obj[]).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ LABEL: 'grafana_dashboard', LABEL_VALUE: '1', NAMESPACE: 'ALL' });
    const adminSecret = one(objs, 'Secret', /grafana$/);
    expect(Buffer.from(adminSecret.data['admin-password'], 'base64').toString()).toBe('bulwark');
    const monitors = find(objs, 'ServiceMonitor').map((o) => o.metadata.name);
    expect(monitors.some((n) => /kube-etcd|kube-scheduler|kube-controller-manager|kube-proxy/.test(n))).toBe(false);
    expect(find(objs, 'CustomResourceDefinition').map((o) => o.metadata.name)).toContain('prometheuses.monitoring.coreos.com');
  },
  'argo-rollouts': (objs) => {
    const controller = find(objs, 'Deployment').find((d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'rollouts-controller')!;
    expect(controller.spec.replicas).toBe(1);
    expect(controller.spec.template.spec.containers[0].resources.requests).toEqual({ cpu: '20m', memory: '64Mi' });
    expect(find(objs, 'Deployment', /dashboard$/)).toHaveLength(1);
    expect(find(objs, 'CustomResourceDefinition').map((o) => o.metadata.name)).toContain('rollouts.argoproj.io');
  },
  'chaos-mesh': (objs) => {
    const daemon = one(objs, 'DaemonSet', 'chaos-daemon').spec.template.spec;
    const args = (daemon.containers[0].command as string[]).join(' ');
    expect(args).toContain('--runtime containerd');
    expect(args).toContain('--runtime-socket-path /host-run/containerd.sock');
    expect(daemon.volumes).toContainEqual({ name: 'socket-path', hostPath: { path: '/run/containerd' } });
    expect(one(objs, 'Deployment', 'chaos-controller-manager').spec.replicas).toBe(1);
    expect(find(objs, 'Deployment', 'chaos-dashboard')).toHaveLength(1);
    expect(find(objs, 'Deployment', /dns/)).toEqual([]);
  },
};

async function poll<T>(what: string, read: () => T, done: (value: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
    last = read();
  }
  return last;
}

/** Ready/wanted Pods of every Deployment and DaemonSet the render put in `namespace`. */
function readiness(objs: Obj[], namespace: string): string[] {
  const kinds = objs.filter((o) => (o.kind === 'Deployment' || o.kind === 'DaemonSet') && (o.metadata.namespace ?? namespace) === namespace);
  if (kinds.length === 0) return [];
  const got = JSON.parse(kubectl(['get', ...kinds.map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`), '-n', namespace, '-o', 'json'])) as Obj;
  const items = (got.kind === 'List' ? got.items : [got]) as Obj[];
  return items.map((o) => {
    const ready = o.kind === 'Deployment' ? (o.status?.readyReplicas ?? 0) : (o.status?.numberReady ?? 0);
    const wanted = o.kind === 'Deployment' ? o.spec.replicas : (o.status?.desiredNumberScheduled ?? 0);
    return `${o.kind}/${o.metadata.name} ${ready}/${wanted}`;
  });
}

beforeAll(async () => {
  cluster = await ensureCluster();
  kubectl(['apply', '--server-side', '--field-manager=upstream-charts-test', '-f', path.join(repoRoot, 'manifests/namespaces.yaml')]);
}, COLD_BUILD_MS);

afterAll(() => {
  for (const { namespace, yaml } of applied) {
    spawnSync(cluster.kubectl, [`--kubeconfig=${cluster.kubeconfig}`, 'delete', '-n', namespace, '--ignore-not-found', '--wait=false', '-f', '-'], { input: yaml, stdio: ['pipe', 'ignore', 'ignore'] });
  }
});

describe('the upstream chart pins', () => {
  it('when every pin is read, then it names a values file, a Go module source and a settings check', () => {
    expect(charts.map((c) => c.name)).toEqual(['istio-base', 'istiod', 'istio-ingressgateway', 'kube-prometheus-stack', 'argo-rollouts', 'chaos-mesh']);
    for (const c of charts) {
      expect(c.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(c.source.module).toMatch(/\./);
      expect(SETTINGS[c.name]).toBeDefined();
      // A fetched chart that is not the pinned release says why.
      if (c.source.chartVersion !== c.version) expect(c.source.note?.length ?? 0).toBeGreaterThan(40);
    }
  });
});

describe('the CRD pins', () => {
  const crd = (name: string): string => crdSources.find((s) => s.name === name)!.version;
  const minor = (v: string): string => /^v?(\d+\.\d+)\./.exec(v)![1]!;
  const appVersion = (chart: string): string => {
    const dir = ensureUpstreamChart(charts.find((c) => c.name === chart)!);
    return /^appVersion:\s*["']?([^"'\s]+)/m.exec(fs.readFileSync(path.join(dir, 'Chart.yaml'), 'utf8'))![1]!;
  };

  it('when compared with the chart pins, then the cluster CRDs are the releases the charts install', () => {
    expect(minor(crd('istio'))).toBe(minor(charts.find((c) => c.name === 'istiod')!.version));
    expect(crd('prometheus-operator')).toBe(appVersion('kube-prometheus-stack'));
    expect(minor(crd('argo-rollouts'))).toBe(minor(appVersion('argo-rollouts')));
    expect(crd('chaos-mesh')).toBe(charts.find((c) => c.name === 'chaos-mesh')!.source.version);
  });
});

describe.each(charts.map((c): [string, UpstreamChart] => [c.name, c]))('upstream chart %s', (name, chart) => {
  let rendered: Obj[] = [];

  beforeAll(() => {
    ensureUpstreamChart(chart);
    rendered = objects(renderUpstreamChart(chart));
  }, 10 * 60_000);

  it('when rendered from its Go module with the pinned values, then the settings the values exist for are there', () => {
    expect(rendered.length).toBeGreaterThan(0);
    SETTINGS[name]!(rendered);
  });

  it(
    'when applied to the local control plane, then the API server takes every object and its workloads run on kwok nodes',
    async () => {
      const dryRunOnly = rendered.filter((o) => DRY_RUN_ONLY.has(o.kind));
      const live = ontoFakeNodes(rendered.filter((o) => !DRY_RUN_ONLY.has(o.kind)));
      if (dryRunOnly.length > 0) {
        const out = kubectl(['apply', '--dry-run=server', '--server-side', '--force-conflicts', '--field-manager=upstream-charts-test', '-f', '-'], toYaml(dryRunOnly));
        expect(out).toMatch(/server dry run/);
      }
      if (live.length === 0) return;
      // kubectl takes one namespace per call: objects the chart pins elsewhere (kube-system) go in their own.
      const byNamespace = Map.groupBy(live, (o) => (o.metadata.namespace as string | undefined) ?? chart.namespace);
      for (const [namespace, group] of byNamespace) {
        const yaml = toYaml(group);
        applied.push({ namespace, yaml });
        const out = kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=upstream-charts-test', '-n', namespace, '-f', '-'], yaml);
        expect(out.split('\n').filter((l) => / serverside-applied$/.test(l))).toHaveLength(group.length);
      }
      const workloads = live.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet');
      const ready = await poll(`${name} workloads`, () => readiness(live, chart.namespace), (lines) => lines.length === workloads.length && lines.every((l) => /\s(\d+)\/\1$/.test(l) && !/\s0\/0$/.test(l)));
      console.log(`${name}: ${live.length} objects applied, ${dryRunOnly.length} dry-run; ${ready.join(', ') || 'no workloads'}`);
    },
    APPLY_MS,
  );
});
