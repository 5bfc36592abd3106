/**
 * Argo Rollouts on the real node (issue 27): the controller built from its Go module at the version
 * whose CRDs `up` applies, run as a host process against the local API server (as the control plane
 * is), and a Prometheus (Debian's, the one `npm run infra` uses) of its own that finds the platform's
 * Pods through the API server (scripts/cluster/pod-targets.ts) and scrapes their /metrics over the node's bridge. A chart shipped as
 * a canary (`shipCanary`) gets the real-node canary profile with its AnalysisTemplate pointed at that
 * Prometheus: the controller promotes the new ReplicaSet when the analysis passes and aborts back to
 * the stable one when it fails.
 *
 * Both processes are the node's: `npm run cluster -- down` (stopRealNode) stops them first.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startDetached } from '../infra/proc.ts';
import { binPath, ensureRolloutsController } from './build.ts';
import { kubectl } from './kubectl.ts';
import { nodeSettings } from './node-config.ts';
import { downProcess, httpOk, upProcess, type NodeProcess } from './node.ts';
import { helmInstall, platformNamespace } from './platform.ts';
import { clusterSettings, crdSources, repoRoot } from './settings.ts';

const port = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

export const rolloutsSettings = {
  version: crdSources.find((c) => c.name === 'argo-rollouts')!.version,
  prometheusPort: port('BULWARK_NODE_PROMETHEUS_PORT', 17290),
  metricsPort: port('BULWARK_ROLLOUTS_METRICS_PORT', 17291),
  healthzPort: port('BULWARK_ROLLOUTS_HEALTHZ_PORT', 17292),
  podTargetsPort: port('BULWARK_NODE_POD_TARGETS_PORT', 17293),
  prometheusDir: path.join(nodeSettings.dir, 'prometheus'),
  canaryProfile: path.join(repoRoot, 'charts/_lib/profiles/values-real-node-canary.yaml'),
  canaryProfileBase: path.join(repoRoot, 'charts/_lib/profiles/values-canary.yaml'),
} as const;

const r = rolloutsSettings;
export const nodePrometheusUrl = `http://127.0.0.1:${r.prometheusPort}`;

/**
 * Every Running Pod of the platform's namespace with a port named http, from scripts/cluster/pod-targets.ts
 * (Debian's prometheus has no kubernetes_sd); the kit's own `service` label is kept.
 */
export function prometheusConfig(): string {
  return `global: { scrape_interval: 5s, evaluation_interval: 5s }
scrape_configs:
  - job_name: real-node-pods
    honor_labels: true
    http_sd_configs:
      - { url: "http://127.0.0.1:${r.podTargetsPort}/", refresh_interval: 5s }
`;
}

const podTargetsScript = path.join(repoRoot, 'scripts/cluster/pod-targets.ts');

export const podTargetsProcess: NodeProcess = {
  name: 'pod-targets',
  expect: podTargetsScript,
  healthy: () => httpOk(`http://127.0.0.1:${r.podTargetsPort}/healthz`),
  start: (log, pid) => startDetached(process.execPath, [podTargetsScript, String(r.podTargetsPort), binPath('kubectl'), clusterSettings.kubeconfig, platformNamespace], log, pid),
};

const prometheusConfigFile = path.join(r.prometheusDir, 'prometheus.yml');

export const prometheusProcess: NodeProcess = {
  name: 'node-prometheus',
  expect: prometheusConfigFile,
  healthy: () => httpOk(`${nodePrometheusUrl}/-/ready`),
  start: (log, pid) =>
    startDetached(
      'prometheus',
      [`--config.file=${prometheusConfigFile}`, `--storage.tsdb.path=${path.join(r.prometheusDir, 'data')}`, `--web.listen-address=127.0.0.1:${r.prometheusPort}`, '--storage.tsdb.retention.time=1d'],
      log,
      pid,
    ),
};

export const rolloutsControllerProcess: NodeProcess = {
  name: 'rollouts-controller',
  expect: 'rollouts-controller',
  healthy: () => httpOk(`http://127.0.0.1:${r.healthzPort}/healthz`),
  start: (log, pid) =>
    startDetached(
      ensureRolloutsController(r.version),
      // One instance, so no leader election (it would want a Lease in its own namespace).
      [`--kubeconfig=${clusterSettings.kubeconfig}`, '--leader-elect=false', `--metricsPort=${r.metricsPort}`, `--healthzPort=${r.healthzPort}`, '--loglevel=info', '--logformat=json'],
      log,
      pid,
    ),
};

/**
 * Builds the controller when missing (cold: tens of minutes), then starts (or reuses) the node's
 * Prometheus and the controller. Call after ensureRealNode().
 */
export async function ensureRollouts(): Promise<void> {
  ensureRolloutsController(r.version);
  fs.mkdirSync(r.prometheusDir, { recursive: true });
  const config = prometheusConfig();
  const changed = !fs.existsSync(prometheusConfigFile) || fs.readFileSync(prometheusConfigFile, 'utf8') !== config;
  fs.writeFileSync(prometheusConfigFile, config);
  if (changed) await downProcess(prometheusProcess);
  await upProcess(podTargetsProcess, 10_000);
  await upProcess(prometheusProcess, 30_000);
  await upProcess(rolloutsControllerProcess, 60_000);
}

/** Stops both (part of stopRealNode). */
export async function stopRollouts(): Promise<void> {
  await downProcess(rolloutsControllerProcess);
  await downProcess(prometheusProcess);
  await downProcess(podTargetsProcess);
}

/**
 * Installs `chart` as a canary on the real node (the canary profiles over the platform's, the
 * analysis on the node's Prometheus); `extraValues` are files layered last (a new version's values).
 * The first install of a Rollout goes straight to 100%; each later pod-template change is a canary.
 */
export function shipCanary(chart: string, extraValues: string[] = [], set: string[] = []): void {
  helmInstall(chart, [r.canaryProfileBase, r.canaryProfile, ...extraValues], [`canary.analysis.prometheusAddress=${nodePrometheusUrl}`, ...set], takeOver);
}

/**
 * Helm 4 applies server-side, and the controller owns the selectors of the -stable/-canary Services
 * (it adds the ReplicaSet's hash): the chart's own selector is applied over it, and the controller
 * puts the hash back on its next sync.
 */
const takeOver = ['--force-conflicts'];

/** Back to a plain Deployment (the Rollout, its Services and AnalysisTemplate are removed by Helm). */
export function unshipCanary(chart: string): void {
  helmInstall(chart, [], [], takeOver);
}

export interface RolloutStatus {
  phase?: string;
  abort?: boolean;
  currentPodHash?: string;
  stableRS?: string;
  currentStepIndex?: number;
  message?: string;
}

export function rolloutStatus(name: string): RolloutStatus {
  const obj = JSON.parse(kubectl(['get', 'rollout', '-n', platformNamespace, name, '-o', 'json'])) as { status?: RolloutStatus };
  return obj.status ?? {};
}

/** The AnalysisRuns of `name`'s Rollout (by owner), oldest first, with the pod-template hash each measured. */
export function analysisRuns(name: string): { name: string; phase?: string; hash?: string }[] {
  const list = JSON.parse(kubectl(['get', 'analysisruns', '-n', platformNamespace, '-o', 'json'])) as {
    items: { metadata: { name: string; creationTimestamp: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] }; status?: { phase?: string } }[];
  };
  return list.items
    .filter((i) => i.metadata.ownerReferences?.some((o) => o.kind === 'Rollout' && o.name === name))
    .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp))
    .map((i) => ({ name: i.metadata.name, phase: i.status?.phase, hash: i.metadata.labels?.['rollouts-pod-template-hash'] }));
}

export interface Traffic {
  requests: number;
  /** Answers by status class: '2xx', '4xx', '5xx', and 'error' for no answer. */
  byClass: Record<string, number>;
  /** Answers in a row that were not 5xx nor missing (429s of the rate limits count: not the version's fault). */
  streak: number;
  stop(): Promise<void>;
}

/**
 * Keeps `concurrency` loops of GET `url` (bearer `token`) going until stopped, about 5 requests a
 * second each, tallying answers by class: the canary analysis needs steady traffic to measure. Each
 * request opens its own connection: without Istio, kube-proxy picks a Pod per connection, and a
 * kept-alive one would stay on the stable Pod and never reach the canary.
 */
export function driveTraffic(url: string, token: string, concurrency = 2): Traffic {
  let stopped = false;
  const traffic: Traffic = {
    requests: 0,
    byClass: {},
    streak: 0,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
  const once = (): Promise<string> =>
    new Promise((resolve) => {
      const req = http.get(url, { agent: false, headers: { authorization: `Bearer ${token}` }, timeout: 5_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(`${String(res.statusCode)[0]}xx`));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve('error'));
    });
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const cls = await once();
      traffic.requests++;
      traffic.byClass[cls] = (traffic.byClass[cls] ?? 0) + 1;
      traffic.streak = cls === '2xx' || cls === '4xx' ? traffic.streak + 1 : 0;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return traffic;
}
