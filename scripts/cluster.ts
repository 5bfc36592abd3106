/**
 * `npm run cluster -- up|down|status|crds|tilt|images [name...]|tilt-image <name> <ref>|platform [--remove|--prepare]|rollouts|chaos [--daemon]|cost [--idle=30] [--load=60]|dockerfile <app>|logs [component...]`: the local
 * Kubernetes control plane for tests (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, kwok with fake nodes), built from
 * source once per machine under .local/cluster. See scripts/cluster/index.ts.
 */
import { ensureTilt } from './cluster/build.ts';
import { formatCost, measurePlatformCost } from './cluster/cost.ts';
import { writeDockerfile } from './cluster/dockerfile.ts';
import { buildImages } from './cluster/images.ts';
import { containerdRunning, ensureRealNode, importImages, nodeSettings, realNodeStatus, stopRealNode } from './cluster/node.ts';
import { clusterSettings, components, ensureCluster, ensureCrds, stopCluster } from './cluster/index.ts';
import { ensurePlatform, preparePlatform, removePlatform } from './cluster/platform.ts';
import { podman } from './cluster/podman.ts';
import { ensureRollouts } from './cluster/rollouts.ts';
import { ensureChaosDaemon, ensureChaosMesh } from './cluster/chaos.ts';
import { printLogTails } from './infra/proc.ts';

const [command = 'status', ...names] = process.argv.slice(2);

async function status(): Promise<number> {
  let bad = 0;
  for (const component of components) {
    const s = await component.status();
    if (!s.healthy) bad++;
    const state = s.healthy ? 'up' : 'down';
    const owner = s.healthy ? (s.ours ? 'started by bulwark' : 'not ours, reused') : s.ours ? 'process runs, not healthy' : '';
    console.log(`${component.name.padEnd(24)} ${state.padEnd(5)} ${component.url.padEnd(28)} ${owner}`);
  }
  // The real node (only once `up --real-node` ran here); down is normal for it, so it does not fail status.
  for (const p of await realNodeStatus()) console.log(`${p.name.padEnd(24)} ${(p.healthy ? 'up' : 'down').padEnd(5)} ${`node ${nodeSettings.ip}`.padEnd(28)} ${p.ours ? 'started by bulwark' : ''}`);
  console.log(`kubeconfig: ${clusterSettings.kubeconfig}`);
  return bad === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  switch (command) {
    case 'up': {
      const started = Date.now();
      await ensureCluster({ crds: !names.includes('--no-crds') });
      console.error(`cluster: up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (names.includes('--real-node')) {
        // On request: the node needs root and the images (scripts/cluster/node.ts).
        const nodeStarted = Date.now();
        await ensureRealNode();
        console.error(`cluster: real node Ready in ${((Date.now() - nodeStarted) / 1000).toFixed(1)} s`);
      }
      return status();
    }
    case 'down':
      await stopRealNode();
      // `down --real-node`: only the node (and what it left on the machine); the control plane stays.
      if (names.includes('--real-node')) return status();
      await stopCluster();
      return status().then(() => 0);
    case 'status':
      return status();
    case 'crds':
      ensureCrds({ force: true });
      return 0;
    case 'tilt': {
      // Opt-in: a cold build takes minutes (see docs/RUNBOOK.md); the charts test then evaluates the Tiltfile.
      const started = Date.now();
      console.log(ensureTilt());
      console.error(`cluster: tilt ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'dockerfile':
      // (Re)writes apps/<app>/Dockerfile in the shared pattern (scripts/cluster/dockerfile.ts).
      for (const app of names) console.log(writeDockerfile(app));
      return names.length > 0 ? 0 : 2;
    case 'images': {
      // Builds the base and the named images (all without names) with podman; see scripts/cluster/images.ts.
      const started = Date.now();
      const built = buildImages(names);
      for (const image of built) console.log(`${image.ref.padEnd(44)} ${image.id.slice(0, 12)}  ${image.seconds.toFixed(1)} s`);
      // Into the real node too when it runs (images not already there at the same id).
      if (containerdRunning()) importImages(built.map((b) => b.ref));
      console.error(`cluster: images built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'tilt-image': {
      // Tiltfile.real-node's custom_build: `tilt-image <name> $EXPECTED_REF` builds bulwark/<name> as `images`
      // does, tags it with Tilt's reference and imports it into the node (no registry: Pods never pull).
      const [name, ref] = names;
      if (!name || !ref) return 2;
      const [built] = buildImages([name]);
      // A Pod's `bulwark/x:tag` means docker.io/bulwark/x:tag to containerd; podman would file a short name under localhost/.
      const qualified = /^[^/]+[.:][^/]*\//.test(ref) ? ref : `docker.io/${ref}`;
      podman(['tag', built!.ref, qualified]);
      importImages([qualified]);
      return 0;
    }
    case 'rollouts': {
      // Argo Rollouts' controller and the node's Prometheus (scripts/cluster/rollouts.ts); needs `up --real-node`.
      const started = Date.now();
      await ensureRollouts();
      console.error(`cluster: rollouts controller and node Prometheus up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'chaos': {
      // Chaos Mesh's controller manager (scripts/cluster/chaos.ts); needs `up --real-node`. `--daemon`: chaos-daemon too.
      await ensureChaosMesh();
      if (names.includes('--daemon')) await ensureChaosDaemon();
      return 0;
    }
    case 'platform': {
      // The charts on the real node (scripts/cluster/platform.ts); needs `up --real-node` and the images.
      if (names.includes('--remove')) {
        removePlatform();
        return 0;
      }
      if (names.includes('--prepare')) {
        // Data services, namespaces and Secrets only: Tiltfile.real-node deploys the charts itself.
        console.log((await preparePlatform()).join(' '));
        return 0;
      }
      const started = Date.now();
      await ensurePlatform();
      console.error(`cluster: platform Ready on the real node in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'cost': {
      // CPU and RSS of every platform Pod at idle and under checkout load beside `npm run budget` (scripts/cluster/cost.ts).
      const seconds = (flag: string, fallback: number): number => Number(names.find((n) => n.startsWith(`${flag}=`))?.split('=')[1] ?? fallback);
      const report = await measurePlatformCost({ idleMs: seconds('--idle', 30) * 1000, loadMs: seconds('--load', 60) * 1000, concurrency: seconds('--concurrency', 4) });
      console.log(formatCost(report));
      return 0;
    }
    case 'logs':
      printLogTails(components.filter((c) => names.length === 0 || names.includes(c.name)));
      return 0;
    default:
      console.error('usage: npm run cluster -- up [--no-crds] [--real-node]|down [--real-node]|status|crds|tilt|images [name...]|tilt-image <name> <ref>|platform [--remove|--prepare]|cost [--idle=30] [--load=60] [--concurrency=4]|dockerfile <app...>|logs [etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok ...]');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
