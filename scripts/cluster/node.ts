/**
 * The real node beside kwok (`npm run cluster -- up --real-node`): Debian's
 * containerd 1.6 with its CRI plugin and runc, the CNI bridge from
 * /usr/lib/cni, kubelet + kube-proxy built from the control plane's
 * k8s.io/kubernetes module, joined to the local API server with client certs,
 * and CoreDNS (a host process on the node's address) for Service names.
 *
 * kubelet runs with `protectKernelDefaults: true` in its own mount namespace,
 * where three files holding the values it insists on are bind-mounted over
 * /proc/sys/{vm/overcommit_memory,kernel/panic,kernel/panic_on_oops}: it
 * reads them and writes nothing, the shared VM keeps its own panic settings.
 * Its root dir is a shared bind mount, so the volumes it mounts there reach
 * runc in the host's namespace.
 *
 * `stopRealNode()` (part of `npm run cluster -- down`) removes what it all
 * leaves behind: pods, containers and shims, network namespaces, iptables
 * chains and nft tables, the bridge and the node address, mounts, kubepods
 * cgroups, /var/log/{pods,containers} and the Node object.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { isOurProcess, readPid, run, startDetached, stopPid, waitFor } from '../infra/proc.ts';
import { ensureRequirements } from '../infra/prereqs.ts';
import { binPath, ensureNodeBinaries, findGo } from './build.ts';
import { kubeconfigFor, kubeletClient, signed } from './certs.ts';
import { kubectl } from './kubectl.ts';
import { cniConflist, containerdToml, corefile, kubeletYaml, kubeProxyYaml, loopbackPlugin, nodeKubeconfig, nodeSettings, type NodeIdentity } from './node-config.ts';
import { imageId, podman, podmanStreamed } from './podman.ts';
import { clusterSettings, repoRoot, versions } from './settings.ts';

export { nodeSettings, realNodeScheduling } from './node-config.ts';

const s = nodeSettings;
const { logDir, runDir } = clusterSettings;
const importedStamp = path.join(s.dir, 'imported.json');

/** Exit status of a command, output dropped: for probes and best-effort cleanup. */
function attempt(cmd: string, args: string[]): number {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status ?? 1;
}

function output(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

const ctr = (args: string[]): string => run('ctr', ['--address', s.containerdSocket, '--namespace', 'k8s.io', ...args]);

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export interface NodeProcess {
  name: string;
  /** What the running process's command line contains (pid-reuse guard). */
  expect: string;
  healthy(): Promise<boolean>;
  start(logFile: string, pidFile: string): void;
}

const pidFileOf = (p: NodeProcess): string => path.join(runDir, `${p.name}.pid`);
const running = (p: NodeProcess): boolean => isOurProcess(readPid(pidFileOf(p)), p.expect);

async function upProcess(p: NodeProcess, timeoutMs: number): Promise<void> {
  const logFile = path.join(logDir, `${p.name}.log`);
  if (!running(p)) p.start(logFile, pidFileOf(p));
  await waitFor(p.name, p.healthy, timeoutMs, logFile);
}

async function downProcess(p: NodeProcess): Promise<void> {
  const pid = readPid(pidFileOf(p));
  if (isOurProcess(pid, p.expect)) await stopPid(pid!, 30_000);
  fs.rmSync(pidFileOf(p), { force: true });
}

const containerd: NodeProcess = {
  name: 'containerd',
  expect: s.containerdConfig,
  healthy: () => Promise.resolve(attempt('ctr', ['--address', s.containerdSocket, 'version']) === 0),
  start: (log, pid) => startDetached('containerd', ['--config', s.containerdConfig], log, pid),
};

const kubelet: NodeProcess = {
  name: 'kubelet',
  expect: binPath('kubelet'),
  healthy: () => httpOk(`http://127.0.0.1:${s.kubeletHealthzPort}/healthz`),
  start: (log, pid) => {
    const args = [
      `--config=${s.kubeletConfig}`,
      `--kubeconfig=${nodeKubeconfig('kubelet')}`,
      `--root-dir=${s.kubeletRoot}`,
      `--hostname-override=${s.ip}`,
      `--node-ip=${s.ip}`,
      `--node-labels=${s.label}=true`,
    ];
    // Own mount namespace (propagation unchanged: the shared root dir stays shared), sysctl files over /proc/sys.
    startDetached('unshare', ['--mount', '--propagation', 'unchanged', '--', 'sh', path.join(s.dir, 'kubelet.sh'), ...args], log, pid);
  },
};

const kubeProxy: NodeProcess = {
  name: 'kube-proxy',
  expect: binPath('kube-proxy'),
  healthy: () => httpOk(`http://127.0.0.1:${s.kubeProxyHealthzPort}/healthz`),
  start: (log, pid) => startDetached(binPath('kube-proxy'), [`--config=${s.kubeProxyConfig}`], log, pid),
};

const coredns: NodeProcess = {
  name: 'coredns',
  expect: binPath('coredns'),
  healthy: () => httpOk(`http://127.0.0.1:${s.corednsReadyPort}/ready`),
  start: (log, pid) => startDetached(binPath('coredns'), ['-conf', s.corefile], log, pid),
};

/** TCP from the node's address to the host's data services on 127.0.0.1 (scripts/cluster/relay.ts). */
const relayScript = path.join(repoRoot, 'scripts/cluster/relay.ts');
const relay: NodeProcess = {
  name: 'data-relay',
  expect: relayScript,
  healthy: () =>
    new Promise((resolve) => {
      const socket = net.connect({ host: s.ip, port: s.relayPorts[0] }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    }),
  start: (log, pid) => startDetached(process.execPath, relayArgs(), log, pid),
};

function relayArgs(): string[] {
  return [relayScript, s.ip, ...s.relayPorts.map(String)];
}

/** A running relay started with other ports or another address: stopped, so upProcess starts the current one. */
async function restartStaleRelay(): Promise<void> {
  const pid = readPid(pidFileOf(relay));
  if (!running(relay)) return;
  if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(relayArgs().join('\0'))) await downProcess(relay);
}

function ensureHostPackages(): void {
  ensureRequirements([
    { binary: 'containerd', debianPackage: 'containerd' },
    { binary: 'runc', debianPackage: 'runc' },
    { binary: `${s.cniBinDir}/bridge`, debianPackage: 'containernetworking-plugins' },
    { binary: 'iptables', debianPackage: 'iptables' },
    { binary: 'nft', debianPackage: 'nftables' },
    { binary: 'conntrack', debianPackage: 'conntrack' },
    { binary: 'gcc', debianPackage: 'gcc' },
    { binary: '/usr/lib/x86_64-linux-gnu/libc.a', debianPackage: 'libc6-dev' },
  ]);
}

/** The pause image from its C source in the k8s.io/kubernetes module (build/pause/linux/pause.c), FROM scratch. */
function ensurePauseImage(): void {
  if (imageId(s.pauseImage)) return;
  const out = run(findGo(), ['mod', 'download', '-json', `k8s.io/kubernetes@${versions.kubernetes}`], { cwd: clusterSettings.binDir, env: { ...process.env, GOFLAGS: '' } });
  const moduleDir = (JSON.parse(out) as { Dir: string }).Dir;
  const work = path.join(s.dir, 'pause');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const tag = s.pauseImage.split(':').at(-1)!;
  run('gcc', ['-Os', '-static', '-Wall', `-DVERSION=${tag}-bulwark`, '-o', path.join(work, 'pause'), path.join(moduleDir, 'build/pause/linux/pause.c')]);
  fs.writeFileSync(path.join(work, 'Containerfile'), 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n');
  podmanStreamed(['build', '--pull=never', '-t', s.pauseImage, work]);
  fs.rmSync(work, { recursive: true, force: true });
}

/** Writes `content` unless the file already holds it; true when it changed. */
function writeIfChanged(file: string, content: string): boolean {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === content) return false;
  fs.writeFileSync(file, content);
  return true;
}

/** Writes every config file; returns the processes whose configuration changed (to restart when running). */
function writeConfigs(): NodeProcess[] {
  for (const d of [s.dir, s.cniConfDir, s.cniDataDir, s.cniPluginDir, s.kubeletRoot, s.sysctlDir, s.containerdRoot, s.containerdState, path.dirname(s.containerdSocket), logDir, runDir]) fs.mkdirSync(d, { recursive: true });
  const sysctls = { 'vm/overcommit_memory': '1', 'kernel/panic': '10', 'kernel/panic_on_oops': '1' };
  const mounts = Object.entries(sysctls).map(([key, value]) => {
    const file = path.join(s.sysctlDir, key.replace('/', '.'));
    fs.writeFileSync(file, `${value}\n`);
    return `mount --bind ${file} /proc/sys/${key}`;
  });
  const kubeletSh = `#!/bin/sh\n# Written by scripts/cluster/node.ts: runs inside kubelet's own mount namespace.\nset -e\n${mounts.join('\n')}\nexec ${binPath('kubelet')} "$@"\n`;
  // containerd's CNI bin_dir: Debian's plugins by link, and ours.
  for (const plugin of fs.readdirSync(s.cniBinDir)) {
    const link = path.join(s.cniPluginDir, plugin);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(s.cniBinDir, plugin), link);
  }
  fs.writeFileSync(path.join(s.cniPluginDir, 'bulwark-loopback'), loopbackPlugin(process.execPath), { mode: 0o755 });
  const changed: [NodeProcess, boolean][] = [
    [containerd, writeIfChanged(s.containerdConfig, containerdToml())],
    [containerd, writeIfChanged(path.join(s.cniConfDir, '10-bulwark.conflist'), cniConflist())],
    [kubelet, writeIfChanged(s.kubeletConfig, kubeletYaml())],
    [kubelet, writeIfChanged(path.join(s.dir, 'kubelet.sh'), kubeletSh)],
    [kubeProxy, writeIfChanged(s.kubeProxyConfig, kubeProxyYaml())],
    [coredns, writeIfChanged(s.corefile, corefile())],
  ];
  return [...new Set(changed.filter(([, c]) => c).map(([p]) => p))];
}

/**
 * Client certs for kubelet (system:node:<ip>, bound to the system:node role), kube-proxy
 * (system:kube-proxy) and CoreDNS (bulwark-coredns, reading Services, EndpointSlices, Pods, Namespaces).
 */
function ensureCredentials(): void {
  const ids: Record<NodeIdentity, string> = { kubelet: `/O=system:nodes/CN=system:node:${s.ip}`, 'kube-proxy': '/CN=system:kube-proxy', coredns: '/CN=bulwark-coredns' };
  for (const [stem, subject] of Object.entries(ids)) {
    const cert = path.join(clusterSettings.pkiDir, `${stem}.crt`);
    const current = fs.existsSync(cert) ? output('openssl', ['x509', '-noout', '-subject', '-in', cert]) : '';
    if (!current.includes(`CN = ${subject.split('CN=')[1]}`)) signed(stem, subject, 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
    fs.writeFileSync(nodeKubeconfig(stem as NodeIdentity), kubeconfigFor(stem), { mode: 0o600 });
  }
  // RBAC only (no Node authorizer): the node's user gets the system:node role.
  const binding = path.join(s.dir, 'node-rbac.yaml');
  fs.writeFileSync(
    binding,
    `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: bulwark-real-node }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node }
subjects:
  - { apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:node:${s.ip}" }
---
# The API server's client cert on the kubelet API (Webhook authorization): logs, exec, port-forward.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: bulwark-apiserver-kubelet-client }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:kubelet-api-admin }
subjects:
  - { apiGroup: rbac.authorization.k8s.io, kind: User, name: ${kubeletClient.user} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: bulwark-coredns }
rules:
  - { apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: bulwark-coredns }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: bulwark-coredns }
subjects:
  - { apiGroup: rbac.authorization.k8s.io, kind: User, name: bulwark-coredns }
`,
  );
  kubectl(['apply', '-f', binding]);
}

function ensureNodeAddress(): void {
  if (!output('ip', ['-4', 'addr', 'show', 'dev', 'lo']).includes(` ${s.ip}/32 `)) run('ip', ['addr', 'add', `${s.ip}/32`, 'dev', 'lo']);
}

function isMountPoint(dir: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === dir);
}

function ensureSharedKubeletRoot(): void {
  if (!isMountPoint(s.kubeletRoot)) run('mount', ['--bind', s.kubeletRoot, s.kubeletRoot]);
  run('mount', ['--make-shared', s.kubeletRoot]);
}

function readImported(): Record<string, string> {
  try {
    return JSON.parse(fs.readFileSync(importedStamp, 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

/**
 * Copies podman images into containerd's k8s.io namespace, skipping those already there at the
 * same id. One multi-image docker archive for all of them: the layers they share (the base, npm)
 * are written and unpacked once.
 */
export function importImages(refs: string[]): void {
  const imported = readImported();
  const present = new Set(ctr(['images', 'ls', '-q']).split('\n').filter(Boolean));
  const todo = refs.map((ref) => {
    const id = imageId(ref);
    if (!id) throw new Error(`no image ${ref} in podman: npm run cluster -- images`);
    return { ref, id };
  }).filter(({ ref, id }) => imported[ref] !== id || !present.has(ref));
  if (todo.length === 0) return;
  const started = Date.now();
  const archive = path.join(s.dir, 'import.tar');
  fs.rmSync(archive, { force: true });
  // The archive's RepoTags carry the full references, which ctr takes as the image names.
  podman(['save', '--multi-image-archive', '--format', 'docker-archive', '-o', archive, ...todo.map((t) => t.ref)]);
  ctr(['images', 'import', archive]);
  fs.rmSync(archive, { force: true });
  for (const { ref, id } of todo) imported[ref] = id;
  fs.writeFileSync(importedStamp, JSON.stringify(imported, null, 2));
  process.stderr.write(`node: imported ${todo.map((t) => t.ref).join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

/** The node's processes for `npm run cluster -- status` (empty when no real node was ever started here). */
export async function realNodeStatus(): Promise<{ name: string; healthy: boolean; ours: boolean }[]> {
  if (!fs.existsSync(s.containerdConfig)) return [];
  return Promise.all([containerd, kubelet, kubeProxy, coredns, relay].map(async (p) => ({ name: p.name, healthy: running(p) && (await p.healthy()), ours: running(p) })));
}

/** True when this checkout's containerd answers (then `images` imports into it). */
export function containerdRunning(): boolean {
  return running(containerd) && attempt('ctr', ['--address', s.containerdSocket, 'version']) === 0;
}

/**
 * Starts (or reuses) containerd, kubelet and kube-proxy against the running control plane and
 * waits for the Node to be Ready; `images` are imported first. Call after ensureCluster().
 */
export async function ensureRealNode(images: string[] = []): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the real node needs root (containerd, mounts, iptables)');
  ensureHostPackages();
  ensureNodeBinaries();
  ensurePauseImage();
  const changed = writeConfigs();
  for (const p of changed) if (running(p)) await downProcess(p);
  ensureCredentials();
  ensureNodeAddress();
  await upProcess(containerd, 30_000);
  importImages([s.pauseImage, ...images]);
  ensureSharedKubeletRoot();
  await upProcess(kubelet, 60_000);
  await waitFor(
    `node ${s.ip} Ready`,
    () => Promise.resolve(output(binPath('kubectl'), [`--kubeconfig=${clusterSettings.kubeconfig}`, 'get', 'node', s.ip, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']) === 'True'),
    60_000,
    path.join(logDir, 'kubelet.log'),
  );
  await upProcess(kubeProxy, 30_000);
  await upProcess(coredns, 30_000);
  await restartStaleRelay();
  await upProcess(relay, 10_000);
}

export { stopRealNode } from './node-cleanup.ts';
export { relay as relayProcess, coredns as corednsProcess, containerd as containerdProcess, kubelet as kubeletProcess, kubeProxy as kubeProxyProcess, upProcess, downProcess, running as processRunning, ctr, attempt, output, httpOk };
