/**
 * Argo Rollouts on the real node (issue 27): the controller built from its Go module at the version
 * whose CRDs `up` applies, run as a host process against the local API server (as the control plane
 * is), and a Prometheus (Debian's, the one `npm run infra` uses) of its own that finds the platform's
 * Pods through the API server and scrapes their /metrics over the node's bridge. A chart shipped as
 * a canary (`shipCanary`) gets the real-node canary profile with its AnalysisTemplate pointed at that
 * Prometheus: the controller promotes the new ReplicaSet when the analysis passes and aborts back to
 * the stable one when it fails.
 *
 * Both processes are the node's: `npm run cluster -- down` (stopRealNode) stops them first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startDetached } from '../infra/proc.ts';
import { ensureRolloutsController } from './build.ts';
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
  prometheusDir: path.join(nodeSettings.dir, 'prometheus'),
  canaryProfile: path.join(repoRoot, 'charts/_lib/profiles/values-real-node-canary.yaml'),
  canaryProfileBase: path.join(repoRoot, 'charts/_lib/profiles/values-canary.yaml'),
} as const;

const r = rolloutsSettings;
export const nodePrometheusUrl = `http://127.0.0.1:${r.prometheusPort}`;

/** Every Pod of the platform's namespace with a port named http; the kit's own `service` label is kept. */
export function prometheusConfig(): string {
  return `global: { scrape_interval: 5s, evaluation_interval: 5s }
scrape_configs:
  - job_name: real-node-pods
    honor_labels: true
    kubernetes_sd_configs:
      - role: pod
        kubeconfig_file: ${clusterSettings.kubeconfig}
        namespaces: { names: [${platformNamespace}] }
    relabel_configs:
      - { source_labels: [__meta_kubernetes_pod_container_port_name], regex: http, action: keep }
      - { source_labels: [__meta_kubernetes_pod_phase], regex: Running, action: keep }
      - { source_labels: [__meta_kubernetes_namespace], target_label: namespace }
      - { source_labels: [__meta_kubernetes_pod_name], target_label: pod }
      - { source_labels: [__meta_kubernetes_pod_label_rollouts_pod_template_hash], target_label: rollouts_pod_template_hash }
`;
}

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
  await upProcess(prometheusProcess, 30_000);
  await upProcess(rolloutsControllerProcess, 60_000);
}

/** Stops both (part of stopRealNode). */
export async function stopRollouts(): Promise<void> {
  await downProcess(rolloutsControllerProcess);
  await downProcess(prometheusProcess);
}

/**
 * Installs `chart` as a canary on the real node (the canary profiles over the platform's, the
 * analysis on the node's Prometheus); `extraValues` are files layered last (a new version's values).
 * The first install of a Rollout goes straight to 100%; each later pod-template change is a canary.
 */
export function shipCanary(chart: string, extraValues: string[] = [], set: string[] = []): void {
  helmInstall(chart, [r.canaryProfileBase, r.canaryProfile, ...extraValues], [`canary.analysis.prometheusAddress=${nodePrometheusUrl}`, ...set]);
}

/** Back to a plain Deployment (the Rollout, its Services and AnalysisTemplate are removed by Helm). */
export function unshipCanary(chart: string): void {
  helmInstall(chart);
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
  stop(): Promise<void>;
}

/**
 * Keeps `concurrency` loops of GET `url` (bearer `token`) going until stopped, about 5 requests a
 * second each, tallying answers by class: the canary analysis needs steady traffic to measure.
 */
export function driveTraffic(url: string, token: string, concurrency = 2): Traffic {
  let stopped = false;
  const traffic: Traffic = {
    requests: 0,
    byClass: {},
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
  const loop = async (): Promise<void> => {
    while (!stopped) {
      let cls = 'error';
      try {
        const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        cls = `${String(res.status)[0]}xx`;
      } catch {
        // no answer: counted as such
      }
      traffic.requests++;
      traffic.byClass[cls] = (traffic.byClass[cls] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return traffic;
}
