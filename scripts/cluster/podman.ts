/**
 * podman for this checkout: its own containers.conf and storage.conf under
 * .local/cluster/podman (pointed at with CONTAINERS_CONF and
 * CONTAINERS_STORAGE_CONF, /etc stays untouched), with the settings that work
 * on these machines (docs/REAL-NODE facts): runc (crun refuses the hybrid
 * cgroup layout), cgroupfs, the file events logger and ulimits root may set
 * without CAP_SYS_RESOURCE. Images live under .local; podman's run-time state
 * under /run, so a reboot clears it as podman expects.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensureRequirements } from '../infra/prereqs.ts';
import { clusterSettings, repoRoot } from './settings.ts';

const podmanDir = path.join(clusterSettings.dir, 'podman');
/** Per checkout, so two clones on one machine keep apart (and under /run, which a reboot empties). */
export const runtimeDir = `/run/bulwark-${crypto.createHash('sha256').update(repoRoot).digest('hex').slice(0, 8)}`;

function writeConfig(): NodeJS.ProcessEnv {
  fs.mkdirSync(podmanDir, { recursive: true });
  const containersConf = path.join(podmanDir, 'containers.conf');
  const storageConf = path.join(podmanDir, 'storage.conf');
  fs.writeFileSync(
    containersConf,
    `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${path.join(podmanDir, 'events.log')}"
tmp_dir = "${runtimeDir}/podman-tmp"
volume_path = "${path.join(podmanDir, 'volumes')}"
`,
  );
  fs.writeFileSync(
    storageConf,
    `[storage]
driver = "overlay"
graphroot = "${path.join(podmanDir, 'storage')}"
runroot = "${runtimeDir}/podman-run"
`,
  );
  return { ...process.env, CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf };
}

let env: NodeJS.ProcessEnv | undefined;

/** The environment every podman call of ours runs with (installs podman from Debian when missing). */
export function podmanEnv(): NodeJS.ProcessEnv {
  if (env) return env;
  ensureRequirements([
    { binary: 'podman', debianPackage: 'podman' },
    { binary: 'runc', debianPackage: 'runc' },
  ]);
  env = writeConfig();
  return env;
}

/** Runs podman; output captured, throws naming the command on failure. */
export function podman(args: string[], options: { quiet?: boolean } = {}): string {
  const result = spawnSync('podman', args, { env: podmanEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    if (options.quiet) return '';
    throw new Error(`podman ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

/** Runs podman with its output streamed to our stderr (builds), under `nice`: the machine is shared. */
export function podmanStreamed(args: string[]): void {
  const result = spawnSync('nice', ['-n', '10', 'podman', ...args], { env: podmanEnv(), stdio: ['ignore', process.stderr, process.stderr] });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`podman ${args.join(' ')} exited ${result.status} (output above)`);
}

/** The image id of `ref` in our storage, or undefined. */
export function imageId(ref: string): string | undefined {
  return podman(['image', 'inspect', '--format', '{{.Id}}', ref], { quiet: true }).trim() || undefined;
}
