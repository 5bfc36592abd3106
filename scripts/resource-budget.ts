/**
 * Resource budget of the kind path: sums CPU and memory requests and limits of
 * everything `tilt up` starts, for the kind profile, and prints them by part.
 *
 *   - every service chart rendered with charts/_lib/profiles/values-kind.yaml
 *     (+ the chart's own values-kind.yaml), workloads x replicas, plus one Istio
 *     sidecar per Pod in a mesh namespace (sidecar size from istiod.values.yaml);
 *   - every object under manifests/ (data stores);
 *   - the upstream charts' pinned values files (manifests/*.values.yaml): each
 *     `resources` block counted once. They cannot be rendered here (no chart
 *     download), so this part is an estimate from what we pin.
 *
 * Usage: `npm run budget` (or `scripts/run node scripts/resource-budget.ts`).
 * Exits 1 when the requests exceed LAPTOP_BUDGET.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { binPath } from './cluster/build.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');

/** What a laptop running Docker Desktop/kind can give the cluster. */
export const LAPTOP_BUDGET = { requests: { cpuMillis: 8000, memoryBytes: 14 * 2 ** 30 }, limits: { memoryBytes: 32 * 2 ** 30 } };

export interface Amount {
  cpuMillis: number;
  memoryBytes: number;
}
export interface BudgetLine {
  part: string;
  source: string;
  requests: Amount;
  limits: Amount;
}
export interface Budget {
  lines: BudgetLine[];
  requests: Amount;
  limits: Amount;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

export function cpuMillis(q: unknown): number {
  if (q === undefined || q === null) return 0;
  const s = String(q);
  return s.endsWith('m') ? Number(s.slice(0, -1)) : Number(s) * 1000;
}

export function memoryBytes(q: unknown): number {
  if (q === undefined || q === null) return 0;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(q));
  if (!m || !(m[2]! in UNITS)) throw new Error(`unreadable memory quantity ${String(q)}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

const zero = (): Amount => ({ cpuMillis: 0, memoryBytes: 0 });
function addTo(total: Amount, resources: Obj | undefined, key: 'requests' | 'limits', times: number): void {
  const r = resources?.[key] as Obj | undefined;
  total.cpuMillis += cpuMillis(r?.cpu) * times;
  total.memoryBytes += memoryBytes(r?.memory) * times;
}

export function helmBinary(): string {
  const local = binPath('helm');
  return fs.existsSync(local) ? local : 'helm';
}

/** Service charts: charts/<name> with a Chart.yaml, except the library. */
export function serviceCharts(): string[] {
  const dir = path.join(repoRoot, 'charts');
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('_') && fs.existsSync(path.join(dir, e.name, 'Chart.yaml')))
    // Operator charts (annotation bulwark.dev/chart-kind: operator) serve no traffic: scripts/test/operator-chart.test.ts.
    .filter((e) => !/bulwark\.dev\/chart-kind:\s*operator/.test(fs.readFileSync(path.join(dir, e.name, 'Chart.yaml'), 'utf8')))
    .map((e) => e.name)
    .sort();
}

/** Renders a service chart with the kind profile (the Tiltfile's values). */
export function renderKind(chart: string, helm = helmBinary()): string {
  const chartDir = path.join(repoRoot, 'charts', chart);
  execFileSync(helm, ['dependency', 'build', chartDir], { stdio: 'pipe' });
  const values = [path.join(repoRoot, 'charts/_lib/profiles/values-kind.yaml'), path.join(chartDir, 'values-kind.yaml')].filter((f) => fs.existsSync(f));
  return execFileSync(helm, ['template', chart, chartDir, '--namespace', 'bulwark', ...values.flatMap((f) => ['-f', f])], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
}

export function parseObjects(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => !!o && typeof o === 'object' && 'kind' in o);
}

/** Kubernetes manifests under manifests/ (Helm values files are named *.values.yaml). */
export function manifestFiles(): string[] {
  return (fs.readdirSync(path.join(repoRoot, 'manifests'), { recursive: true }) as string[])
    .filter((f) => /\.ya?ml$/.test(f) && !/\.values\.ya?ml$/.test(f))
    .map((f) => path.join('manifests', f))
    .sort();
}

export function valuesFiles(): string[] {
  return (fs.readdirSync(path.join(repoRoot, 'manifests'), { recursive: true }) as string[])
    .filter((f) => /\.values\.ya?ml$/.test(f))
    .map((f) => path.join('manifests', f))
    .sort();
}

const MESH_NAMESPACES = new Set(['bulwark', 'istio-ingress']);

function sidecarResources(): Obj | undefined {
  const istiod = parseYaml(fs.readFileSync(path.join(repoRoot, 'manifests/istio/istiod.values.yaml'), 'utf8')) as Obj;
  return istiod?.global?.proxy?.resources as Obj | undefined;
}

/** Requests and limits of the workloads among `objects`, Pods x replicas (DaemonSets x nodes). */
export function workloadAmounts(objects: Obj[], nodes = 3): { requests: Amount; limits: Amount } {
  const requests = zero();
  const limits = zero();
  const sidecar = sidecarResources();
  for (const o of objects) {
    if (!['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind)) continue;
    const pods = o.kind === 'DaemonSet' ? nodes : ((o.spec?.replicas as number | undefined) ?? 1);
    const containers = (o.spec?.template?.spec?.containers ?? []) as Obj[];
    for (const c of containers) {
      addTo(requests, c.resources, 'requests', pods);
      addTo(limits, c.resources, 'limits', pods);
    }
    if (MESH_NAMESPACES.has(o.metadata?.namespace) && sidecar) {
      addTo(requests, sidecar, 'requests', pods);
      addTo(limits, sidecar, 'limits', pods);
    }
  }
  return { requests, limits };
}

/** Every `resources: {requests, limits}` block in a values file, counted once. */
export function valuesAmounts(values: unknown): { requests: Amount; limits: Amount } {
  const requests = zero();
  const limits = zero();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node as Obj)) {
      if (k === 'resources' && v && typeof v === 'object' && ('requests' in v || 'limits' in v)) {
        addTo(requests, v as Obj, 'requests', 1);
        addTo(limits, v as Obj, 'limits', 1);
      } else walk(v);
    }
  };
  walk(values);
  return { requests, limits };
}

export function computeBudget(helm = helmBinary()): Budget {
  const lines: BudgetLine[] = [];
  for (const chart of serviceCharts()) {
    lines.push({ part: 'service', source: `charts/${chart}`, ...workloadAmounts(parseObjects(renderKind(chart, helm))) });
  }
  for (const file of manifestFiles()) {
    const amounts = workloadAmounts(parseObjects(fs.readFileSync(path.join(repoRoot, file), 'utf8')));
    if (amounts.requests.cpuMillis || amounts.requests.memoryBytes) lines.push({ part: 'manifest', source: file, ...amounts });
  }
  for (const file of valuesFiles()) {
    const amounts = valuesAmounts(parseYaml(fs.readFileSync(path.join(repoRoot, file), 'utf8')));
    // The sidecar size in istiod's values is already counted per meshed Pod above.
    if (file.endsWith('istiod.values.yaml')) {
      const sidecar = valuesAmounts({ global: parseYaml(fs.readFileSync(path.join(repoRoot, file), 'utf8'))?.global });
      for (const k of ['requests', 'limits'] as const) {
        amounts[k].cpuMillis -= sidecar[k].cpuMillis;
        amounts[k].memoryBytes -= sidecar[k].memoryBytes;
      }
    }
    lines.push({ part: 'upstream (estimate)', source: file, ...amounts });
  }
  const requests = zero();
  const limits = zero();
  for (const l of lines) {
    requests.cpuMillis += l.requests.cpuMillis;
    requests.memoryBytes += l.requests.memoryBytes;
    limits.cpuMillis += l.limits.cpuMillis;
    limits.memoryBytes += l.limits.memoryBytes;
  }
  return { lines, requests, limits };
}

const fmtCpu = (m: number): string => `${(m / 1000).toFixed(2)} CPU`;
const fmtMem = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;

export function formatBudget(b: Budget): string {
  const rows = [['part', 'source', 'cpu req', 'mem req', 'cpu lim', 'mem lim']];
  for (const l of b.lines) rows.push([l.part, l.source, fmtCpu(l.requests.cpuMillis), fmtMem(l.requests.memoryBytes), fmtCpu(l.limits.cpuMillis), fmtMem(l.limits.memoryBytes)]);
  rows.push(['TOTAL', '', fmtCpu(b.requests.cpuMillis), fmtMem(b.requests.memoryBytes), fmtCpu(b.limits.cpuMillis), fmtMem(b.limits.memoryBytes)]);
  rows.push(['budget', 'laptop', fmtCpu(LAPTOP_BUDGET.requests.cpuMillis), fmtMem(LAPTOP_BUDGET.requests.memoryBytes), '', fmtMem(LAPTOP_BUDGET.limits.memoryBytes)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function withinBudget(b: Budget): boolean {
  return (
    b.requests.cpuMillis <= LAPTOP_BUDGET.requests.cpuMillis &&
    b.requests.memoryBytes <= LAPTOP_BUDGET.requests.memoryBytes &&
    b.limits.memoryBytes <= LAPTOP_BUDGET.limits.memoryBytes
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const budget = computeBudget();
  console.log(formatBudget(budget));
  if (!withinBudget(budget)) {
    console.error('over the laptop budget: lower requests in charts/_lib/profiles/values-kind.yaml or the manifests/*.values.yaml');
    process.exit(1);
  }
}
