/**
 * Where the real node lives and the configuration files of its processes:
 * containerd (own root, state and socket; CRI with runc, CNI from
 * /usr/lib/cni, the pause image built here), the CNI bridge, kubelet,
 * kube-proxy and CoreDNS. Pure rendering; scripts/cluster/node.ts runs them.
 *
 * The node is named by a non-loopback address put on `lo` (Endpoints and the
 * API server's node proxy refuse loopback), its pod range is kept apart from
 * the one kwok hands out (10.244.0.0/16), and a label and a taint keep every
 * Pod off it that does not ask for it (`realNodeScheduling`).
 */
import path from 'node:path';
import { pki } from './certs.ts';
import { settings } from '../infra/settings.ts';
import { runtimeDir } from './podman.ts';
import { clusterSettings } from './settings.ts';

const dir = path.join(clusterSettings.dir, 'node');

export const nodeSettings = {
  dir,
  /** The node's address (a /32 on `lo`) and its Node name. */
  ip: process.env.BULWARK_REAL_NODE_IP ?? '10.250.0.1',
  podCidr: '10.245.0.0/24',
  bridge: 'bulwark0',
  containerdRoot: path.join(dir, 'containerd', 'root'),
  containerdState: path.join(dir, 'containerd', 'state'),
  containerdSocket: path.join(runtimeDir, 'containerd.sock'),
  containerdConfig: path.join(dir, 'containerd.toml'),
  cniConfDir: path.join(dir, 'cni', 'net.d'),
  cniDataDir: path.join(dir, 'cni', 'ipam'),
  /** Debian's CNI plugins (containernetworking-plugins). */
  cniBinDir: '/usr/lib/cni',
  /** containerd's CNI bin_dir: links to cniBinDir's plugins plus bulwark-loopback (loopbackPlugin). */
  cniPluginDir: path.join(dir, 'cni', 'bin'),
  /**
   * The relay from the node's address to 127.0.0.1 (scripts/cluster/relay.ts): the host's data
   * services, and the API server (the `kubernetes` Service's endpoint for in-cluster clients).
   */
  relayPorts: [settings.postgres.port, settings.redis.port, settings.kafka.port, settings.mail.smtpPort, clusterSettings.ports.apiserver],
  /** kubelet's --root-dir: a shared bind mount, so volume mounts made in kubelet's mount namespace reach runc. */
  kubeletRoot: path.join(dir, 'kubelet'),
  kubeletConfig: path.join(dir, 'kubelet.yaml'),
  kubeletHealthzPort: 10248,
  kubeletPort: 10250,
  kubeProxyConfig: path.join(dir, 'kube-proxy.yaml'),
  kubeProxyHealthzPort: 10256,
  /** CoreDNS answers on the node's address, port 53: kubelet hands that to Pods as their nameserver. */
  corefile: path.join(dir, 'Corefile'),
  corednsHealthPort: 18053,
  corednsReadyPort: 18181,
  /** Values kubelet insists on (protectKernelDefaults); it reads them from these files, the VM keeps its own. */
  sysctlDir: path.join(dir, 'sysctl'),
  pauseImage: 'localhost/bulwark/pause:3.10',
  label: 'bulwark.dev/real-node',
  taint: 'bulwark.dev/real-node',
} as const;

/** What a Pod spec needs to land on the real node (and only there). */
export const realNodeScheduling = {
  nodeSelector: { [nodeSettings.label]: 'true' },
  tolerations: [{ key: nodeSettings.taint, operator: 'Exists', effect: 'NoSchedule' }],
};

export type NodeIdentity = 'kubelet' | 'kube-proxy' | 'coredns';

export const nodeKubeconfig = (who: NodeIdentity): string => path.join(clusterSettings.pkiDir, `${who}.kubeconfig`);

export function containerdToml(): string {
  const s = nodeSettings;
  return `version = 2
root = "${s.containerdRoot}"
state = "${s.containerdState}"
oom_score = 0

[grpc]
  address = "${s.containerdSocket}"

[ttrpc]
  address = "${s.containerdSocket}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${path.join(dir, 'containerd', 'opt')}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${s.pauseImage}"
  # Without it every sandbox fails with "can't get final child's PID from pipe" (root here may not lower oom_score_adj).
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${s.cniPluginDir}"
    conf_dir = "${s.cniConfDir}"
`;
}

export function cniConflist(): string {
  const s = nodeSettings;
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'bulwark',
      plugins: [
        {
          type: 'bridge',
          bridge: s.bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: s.podCidr }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: s.cniDataDir },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'bulwark-loopback' },
      ],
    },
    null,
    2,
  )}\n`;
}

/**
 * A CNI plugin (shell), chained after the bridge: in each Pod's network namespace, TCP to
 * 127.0.0.1:<Kafka's port> goes to the node's address, where the relay forwards it to the host's
 * Kafka. The broker advertises 127.0.0.1:<port> (scripts/infra/kafka.ts, shared and not restarted
 * here), so a client in a Pod that bootstrapped through the kafka Service dials that address next.
 * route_localnet lets a packet from 127.0.0.1 leave by eth0; MASQUERADE gives it the Pod's address.
 * The rules live in the Pod's namespace and go with it, so DEL has nothing to undo.
 */
export function loopbackPlugin(node: string): string {
  const s = nodeSettings;
  const port = settings.kafka.port;
  return `#!/bin/sh
# Written by scripts/cluster/node-config.ts (loopbackPlugin): see there.
set -e
config=$(cat)
case "$CNI_COMMAND" in
  ADD)
    nsenter --net="$CNI_NETNS" sh -c '
      echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet
      iptables -t nat -A OUTPUT -d 127.0.0.1/32 -p tcp --dport ${port} -j DNAT --to-destination ${s.ip}:${port}
      iptables -t nat -A POSTROUTING -s 127.0.0.0/8 ! -o lo -j MASQUERADE' >&2
    printf '%s' "$config" | ${node} -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => process.stdout.write(JSON.stringify(JSON.parse(s).prevResult ?? {})))'
    ;;
  VERSION) echo '{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0"]}' ;;
  *) ;;
esac
`;
}

export function kubeletYaml(): string {
  const s = nodeSettings;
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${s.ip}
port: ${s.kubeletPort}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${s.kubeletHealthzPort}
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: ${pki.caCert} }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://${s.containerdSocket}
cgroupDriver: cgroupfs
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
failSwapOn: false
failCgroupV1: false
oomScoreAdj: 0
makeIPTablesUtilChains: false
protectKernelDefaults: true
podPidsLimit: 4096
maxPods: 40
podCIDR: ${s.podCidr}
clusterDomain: cluster.local
clusterDNS: [${s.ip}]
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: 50Mi, nodefs.available: 2%, imagefs.available: 2% }
registerWithTaints:
  - { key: ${s.taint}, value: "true", effect: NoSchedule }
`;
}

export function kubeProxyYaml(): string {
  const s = nodeSettings;
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: ${nodeKubeconfig('kube-proxy')} }
mode: iptables
hostnameOverride: ${s.ip}
clusterCIDR: ${s.podCidr}
bindAddress: ${s.ip}
healthzBindAddress: 127.0.0.1:${s.kubeProxyHealthzPort}
metricsBindAddress: 127.0.0.1:10249
oomScoreAdj: 0
# 0 everywhere: kube-proxy writes no conntrack sysctls on the shared VM.
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
nodePortAddresses: [${s.ip}/32]
iptables: { localhostNodePorts: false, masqueradeAll: false }
`;
}

/** Service and Pod names of cluster.local from the API server; the rest goes to the host's resolvers. */
export function corefile(): string {
  const s = nodeSettings;
  return `.:53 {
    bind ${s.ip}
    errors
    health 127.0.0.1:${s.corednsHealthPort}
    ready 127.0.0.1:${s.corednsReadyPort}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${nodeKubeconfig('coredns')} bulwark-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
    loop
    loadbalance
}
`;
}
