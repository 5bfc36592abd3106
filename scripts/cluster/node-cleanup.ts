/**
 * Taking the real node down so that nothing stays behind on the shared VM:
 * pods deleted through the API while kubelet still runs (so CRI tears their
 * sandboxes and CNI networks down), then kube-proxy's and CNI's iptables
 * chains and nft tables, kubelet, any task containerd still holds, the shims,
 * containerd, network namespaces, mounts, the bridge, the node address, the
 * kubepods cgroups, /var/log/{pods,containers} and the Node object.
 * `leftovers()` lists what is still there (the smoke test asserts it is empty).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isOurProcess, stopPid, waitFor } from '../infra/proc.ts';
import { binPath } from './build.ts';
import { nodeSettings as s } from './node-config.ts';
import { attempt, containerdProcess, corednsProcess, ctr, downProcess, kubeletProcess, kubeProxyProcess, output, processRunning, relayProcess } from './node.ts';
import { chaosControllerProcess } from './chaos.ts';
import { podTargetsProcess, prometheusProcess, rolloutsControllerProcess } from './rollouts.ts';
import { clusterSettings } from './settings.ts';

const kubectlArgs = (args: string[]): string[] => [`--kubeconfig=${clusterSettings.kubeconfig}`, '--request-timeout=5s', ...args];

function runningTasks(): string[] {
  try {
    return ctr(['tasks', 'ls', '-q']).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Chains of ours in one iptables table: kube-proxy's KUBE-*, and CNI-* chains the bulwark network's rules jump to. */
function ourChains(save: string): Set<string> {
  const chains = new Set<string>();
  for (const line of save.split('\n')) {
    const declared = /^:(KUBE-\S+)/.exec(line)?.[1];
    if (declared) chains.add(declared);
    const cni = /"bulwark".*-j (CNI-\S+)/.exec(line)?.[1];
    if (cni) chains.add(cni);
  }
  return chains;
}

/** Removes our chains (rules jumping to them first) from every table of iptables and ip6tables. */
function removeChains(): void {
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'nat', 'mangle']) {
      const save = output(`${tool}-save`, ['-t', table]);
      const chains = ourChains(save);
      if (chains.size === 0) continue;
      for (const line of save.split('\n')) {
        const m = /^-A (\S+) (.*)$/.exec(line);
        if (!m || chains.has(m[1]!)) continue;
        const target = /-j (\S+)/.exec(m[2]!)?.[1];
        if (target && chains.has(target)) attempt('sh', ['-c', `${tool} -t ${table} -D ${m[1]} ${m[2]}`]);
      }
      for (const chain of chains) attempt(tool, ['-t', table, '-F', chain]);
      for (const chain of chains) attempt(tool, ['-t', table, '-X', chain]);
    }
  }
  for (const family of ['ip', 'ip6']) attempt('nft', ['delete', 'table', family, 'kube-proxy']);
}

function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Network namespaces CRI made for our sandboxes: only when no other containerd runs, all cni-* ones. */
function cniNetns(): string[] {
  const dir = '/var/run/netns';
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith('cni-')) : [];
}

function kubepodsCgroups(): string[] {
  const root = '/sys/fs/cgroup';
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .map((h) => path.join(root, h, 'kubepods'))
    .filter((d) => fs.existsSync(d));
}

/** Removes a cgroup tree, deepest first (rmdir only: a cgroup with live tasks stays and is reported). */
function removeCgroupTree(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeCgroupTree(path.join(dir, entry.name));
  try {
    fs.rmdirSync(dir);
  } catch {
    // busy: leftovers() names it
  }
}

function shimPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => isOurProcess(pid, 'containerd-shim') && isOurProcess(pid, s.containerdSocket));
}

/** Stops the real node and removes everything it left on the machine; safe when nothing runs. */
export async function stopRealNode(): Promise<void> {
  // Never started from this checkout: nothing of ours to remove (and kube-proxy --cleanup stays off the host).
  if (!fs.existsSync(s.containerdConfig)) return;
  const kubectl = binPath('kubectl');
  const apiUp = attempt(kubectl, kubectlArgs(['get', '--raw', '/readyz'])) === 0;
  if (apiUp && processRunning(kubeletProcess) && processRunning(containerdProcess)) {
    // Cordoned first: the platform's Deployments would otherwise put their replacements right back on it.
    attempt(kubectl, kubectlArgs(['cordon', s.ip]));
    attempt(kubectl, kubectlArgs(['delete', 'pods', '--all-namespaces', `--field-selector=spec.nodeName=${s.ip}`, '--grace-period=5', '--wait=false']));
    await waitFor('the real node\'s pods to stop', () => Promise.resolve(runningTasks().length === 0), 60_000).catch((err: unknown) => {
      process.stderr.write(`node: ${(err as Error).message}; killing what is left\n`);
    });
  }
  // Argo Rollouts' controller, the node's Prometheus (scripts/cluster/rollouts.ts) and Chaos Mesh's manager (chaos.ts), when started.
  await downProcess(chaosControllerProcess);
  await downProcess(rolloutsControllerProcess);
  await downProcess(prometheusProcess);
  await downProcess(podTargetsProcess);
  await downProcess(relayProcess);
  await downProcess(corednsProcess);
  await downProcess(kubeProxyProcess);
  if (fs.existsSync(binPath('kube-proxy'))) attempt(binPath('kube-proxy'), ['--cleanup']);
  await downProcess(kubeletProcess);
  if (processRunning(containerdProcess)) {
    for (const task of runningTasks()) attempt('ctr', ['--address', s.containerdSocket, '-n', 'k8s.io', 'tasks', 'kill', '-s', 'SIGKILL', task]);
    await waitFor('killed tasks', () => Promise.resolve(runningTasks().length === 0), 10_000).catch(() => undefined);
  }
  await downProcess(containerdProcess);
  for (const pid of shimPids()) await stopPid(pid, 5_000);
  removeChains();
  for (const ns of cniNetns()) attempt('ip', ['netns', 'delete', ns]);
  for (const m of mountsUnder(s.kubeletRoot).reverse()) attempt('umount', ['-l', m]);
  for (const m of mountsUnder(s.containerdState).concat(mountsUnder(s.containerdRoot)).reverse()) attempt('umount', ['-l', m]);
  // containerd 1.6 keeps shim sockets under /run/containerd whatever its state dir says; ours is the only containerd here.
  if (!fs.existsSync('/run/containerd/containerd.sock')) fs.rmSync('/run/containerd', { recursive: true, force: true });
  attempt('ip', ['link', 'delete', s.bridge]);
  attempt('ip', ['addr', 'del', `${s.ip}/32`, 'dev', 'lo']);
  for (const dir of kubepodsCgroups()) removeCgroupTree(dir);
  for (const dir of ['/var/log/pods', '/var/log/containers']) fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(s.cniDataDir, { recursive: true, force: true });
  if (apiUp) attempt(kubectl, kubectlArgs(['delete', 'node', s.ip, '--ignore-not-found']));
}

/** What the real node would leave behind (empty after `stopRealNode()`): one line per thing. */
export function leftovers(): string[] {
  const found: string[] = [];
  for (const p of [containerdProcess, kubeletProcess, kubeProxyProcess, corednsProcess, relayProcess, rolloutsControllerProcess, prometheusProcess, podTargetsProcess, chaosControllerProcess]) if (processRunning(p)) found.push(`process ${p.name}`);
  for (const pid of shimPids()) found.push(`shim pid ${pid}`);
  for (const m of mountsUnder(s.dir)) found.push(`mount ${m}`);
  for (const ns of cniNetns()) found.push(`netns ${ns}`);
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'nat', 'mangle']) for (const chain of ourChains(output(`${tool}-save`, ['-t', table]))) found.push(`${tool} -t ${table} chain ${chain}`);
  }
  if (output('nft', ['list', 'tables']).includes('kube-proxy')) found.push('nft table kube-proxy');
  if (attempt('ip', ['link', 'show', s.bridge]) === 0) found.push(`link ${s.bridge}`);
  if (output('ip', ['-4', 'addr', 'show', 'dev', 'lo']).includes(` ${s.ip}/32 `)) found.push(`address ${s.ip} on lo`);
  for (const dir of kubepodsCgroups()) found.push(`cgroup ${dir}`);
  for (const dir of ['/var/log/pods', '/var/log/containers']) if (fs.existsSync(dir)) found.push(dir);
  return found;
}
