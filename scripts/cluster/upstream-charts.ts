/**
 * The upstream Helm charts of the kind path (Istio, kube-prometheus-stack,
 * Argo Rollouts, Chaos Mesh), obtained without a chart repository: each pin in
 * manifests/upstream-charts.json names a Go module that carries the chart's
 * sources, fetched with `go mod download` (sum.golang.org-verified, cached in
 * GOMODCACHE). The chart folder is copied to .local/cluster/upstream-charts
 * (the module cache is read-only and Helm wants the subcharts under charts/),
 * with its dependencies copied in from their own modules, and rendered with
 * the pinned values file. Nothing downloaded is copied into the repository.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { binPath } from './build.ts';
import { downloadModule } from './crds.ts';
import { clusterSettings, repoRoot } from './settings.ts';

export interface ChartSource {
  /** Subchart name (dependencies only). */
  name?: string;
  module: string;
  version: string;
  /** The chart's folder inside the module. */
  path: string;
  /** What that folder's Chart.yaml says (a source tree may carry a placeholder). */
  chartVersion: string;
  /** Why the fetched chart is not exactly the pinned release, when it is not. */
  note?: string;
  dependencies?: (ChartSource & { name: string })[];
}

export interface UpstreamChart {
  name: string;
  repo: string;
  chart: string;
  /** The release users install from `repo` (Tiltfile). */
  version: string;
  namespace: string;
  /** Values file, relative to the repository root. */
  values: string;
  label: string;
  source: ChartSource;
}

export function upstreamCharts(): UpstreamChart[] {
  const file = path.join(repoRoot, 'manifests/upstream-charts.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { charts: UpstreamChart[] }).charts;
}

const cacheDir = path.join(clusterSettings.dir, 'upstream-charts');

function chartYamlVersion(dir: string): string | undefined {
  const text = fs.readFileSync(path.join(dir, 'Chart.yaml'), 'utf8');
  return /^version:\s*["']?([^"'\s]+)/m.exec(text)?.[1];
}

/** Copies a chart folder out of the module cache and checks its Chart.yaml version. */
function copyChart(source: ChartSource, to: string): void {
  const from = path.join(downloadModule(source.module, source.version), source.path);
  if (!fs.existsSync(path.join(from, 'Chart.yaml'))) throw new Error(`${source.module}@${source.version} has no chart at ${source.path}`);
  const found = chartYamlVersion(from);
  if (found !== source.chartVersion) throw new Error(`${source.module}@${source.version}/${source.path} is chart version ${found}, manifests/upstream-charts.json says ${source.chartVersion}`);
  fs.cpSync(from, to, { recursive: true });
  // Files in the module cache are read-only; the copy must be writable to be replaced later.
  spawnSync('chmod', ['-R', 'u+w', to]);
}

/**
 * The local folder of one upstream chart with its subcharts in place, built on
 * first use and reused while the pin stays the same.
 */
export function ensureUpstreamChart(chart: UpstreamChart): string {
  const key = `${chart.name}@${chart.source.version}`;
  const dir = path.join(cacheDir, key);
  const stamp = path.join(cacheDir, `${key}.json`);
  const wanted = JSON.stringify(chart.source);
  if (fs.existsSync(dir) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(cacheDir, { recursive: true });
  const staging = `${dir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  copyChart(chart.source, staging);
  for (const dep of chart.source.dependencies ?? []) copyChart(dep, path.join(staging, 'charts', dep.name));
  try {
    fs.renameSync(staging, dir);
  } catch (err) {
    // Another test process finished the same copy first.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(dir)) throw err;
  }
  fs.writeFileSync(stamp, wanted);
  return dir;
}

/**
 * `helm template` of one upstream chart with its pinned values (CRDs included,
 * chart tests left out), as release `release` in `namespace`.
 */
export function renderUpstreamChart(chart: UpstreamChart, options: { release?: string; namespace?: string } = {}): string {
  const dir = ensureUpstreamChart(chart);
  const args = ['template', options.release ?? chart.name, dir, '--namespace', options.namespace ?? chart.namespace, '--include-crds', '--skip-tests', '-f', path.join(repoRoot, chart.values)];
  const result = spawnSync(binPath('helm'), args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`helm ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  return result.stdout;
}
