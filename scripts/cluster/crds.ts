/**
 * Upstream CustomResourceDefinitions the platform's charts and operators use
 * (Istio, Argo Rollouts, Chaos Mesh, prometheus-operator), taken from the
 * projects' Go modules at the versions pinned in settings.ts: `go mod
 * download -json` fetches and verifies the module (sum.golang.org) and names
 * the extracted directory. Applied server-side (several CRDs exceed the 256 KiB
 * last-applied annotation of client-side apply). Nothing downloaded is ever
 * copied into the repository.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../infra/proc.ts';
import { kubectl } from './kubectl.ts';
import { clusterSettings, crdSources, type CrdSource } from './settings.ts';

/** Recorded next to etcd's data, so wiping etcd also forgets what was applied. */
const appliedFile = path.join(clusterSettings.etcdDir, 'crds-applied.json');

function goBinary(): string {
  return fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
}

/**
 * Downloads one module into GOMODCACHE (verified against sum.golang.org) and
 * returns its extracted, read-only directory. Runs outside any module so the
 * download neither needs nor touches a go.mod.
 */
export function downloadModule(module: string, version: string): string {
  const out = run(goBinary(), ['mod', 'download', '-json', `${module}@${version}`], { cwd: clusterSettings.dir, env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '' } });
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no Dir in output'}`);
  return info.Dir;
}

/** The YAML files one CRD source contributes. */
function crdFiles(source: CrdSource): string[] {
  const dir = downloadModule(source.module, source.version);
  return source.paths.flatMap((p) => {
    const full = path.join(dir, p);
    if (!fs.existsSync(full)) throw new Error(`${source.module}@${source.version} has no ${p}`);
    if (!fs.statSync(full).isDirectory()) return [full];
    return fs
      .readdirSync(full)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .sort()
      .map((f) => path.join(full, f));
  });
}

/** Key of what is pinned now; a change re-applies. */
const pinKey = (): string => JSON.stringify(crdSources.map((s) => `${s.module}@${s.version}`));

/**
 * Applies every pinned CRD set unless this etcd already has them (or `force`),
 * then waits until all are Established.
 */
export function ensureCrds(options: { force?: boolean } = {}): void {
  if (!options.force && fs.existsSync(appliedFile) && fs.readFileSync(appliedFile, 'utf8') === pinKey()) return;
  for (const source of crdSources) {
    const started = Date.now();
    const files = crdFiles(source);
    kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=bulwark-cluster', ...files.flatMap((f) => ['-f', f])]);
    process.stderr.write(`cluster: applied ${files.length} CRD file(s) of ${source.name} ${source.version} in ${Date.now() - started} ms` + '\n');
  }
  kubectl(['wait', '--for=condition=Established', '--timeout=120s', 'crd', '--all']);
  fs.writeFileSync(appliedFile, pinKey());
}
