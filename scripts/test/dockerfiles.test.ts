/**
 * Every image's Dockerfile (apps/*, operators/*), on a machine without a Docker engine: the pattern is
 * read from the file (stages, pinned base image, npm 10 for `npm ci`, workspace
 * scope, the packages it copies, non-root user, port, health check), and the
 * parts that can run without Docker do run: the deps stage's COPY lines and
 * RUN line are replayed in a scratch directory with the npm release the
 * Dockerfile installs, then the runtime stage's layout is assembled and every
 * runtime dependency of the app is resolved (workspace packages imported) from
 * it. What cannot be checked here is the image itself: the base image is never
 * pulled and nothing is built (no Docker, no registry access).
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { imageWorkspaces, nestedModuleDirs, readDockerfile, workspaceClosure, workspaceDir, type Dockerfile, type Stage } from '../cluster/dockerfile.ts';
import { localDir, repoRoot } from '../infra/settings.ts';

const INSTALL_MS = 5 * 60_000;
/** The charts' pod securityContext.runAsUser (charts/_lib). */
const RUNTIME_UID = '10001';
/** Every workspace that ships as an image, with its directory and the port its package.json declares. */
const apps = imageWorkspaces().map((name) => {
  const dir = workspaceDir(name);
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, dir, 'package.json'), 'utf8')) as { bulwark?: { port?: number } };
  return { name, dir, port: pkg.bulwark?.port };
});
const dirOf = (app: string): string => workspaceDir(app);
const checkDir = path.join(localDir, 'docker-check');

function load(app: string): Dockerfile {
  const file = path.join(repoRoot, dirOf(app), 'Dockerfile');
  if (!fs.existsSync(file)) throw new Error(`${dirOf(app)}/Dockerfile is missing: \`npm run cluster -- dockerfile ${app}\` writes it`);
  return readDockerfile(app);
}

const ops = (stage: Stage, op: string): string[] => stage.instructions.filter((i) => i.op === op).map((i) => i.args);

function exec(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const result = spawnSync(cmd, args, { ...options, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${options.cwd}) exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** The npm release the base stage installs, unpacked once under .local/docker-check. */
function npmBin(version: string): string {
  const prefix = path.join(checkDir, `npm-${version}`);
  const bin = path.join(prefix, 'node_modules', '.bin');
  if (!fs.existsSync(path.join(bin, 'npm'))) {
    exec('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', `npm@${version}`], { cwd: repoRoot });
  }
  return bin;
}

/**
 * The .dockerignore patterns as matchers, in Docker's reading for the forms the file uses: a pattern is
 * anchored at the context root, `**\/` matches any number of folders, `*` anything but `/`, and a
 * pattern that matches a folder excludes everything below it.
 */
const ignored: RegExp[] = fs
  .readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'))
  .map((pattern) => {
    const body = pattern
      .split('**/')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
      .join('(?:.*/)?');
    return new RegExp(`^${body}(?:/|$)`);
  });

/** What .dockerignore leaves in the build context. */
const inContext = (file: string): boolean => {
  const relative = path.relative(repoRoot, file);
  return !ignored.some((re) => re.test(relative));
};

/** The files a runtime stage's `COPY <src> <dest>` lines (not `--from`) take from the build context. */
function shippedFiles(file: Dockerfile): string[] {
  const files: string[] = [];
  const walk = (abs: string): void => {
    if (!inContext(abs)) return;
    if (fs.statSync(abs).isDirectory()) for (const entry of fs.readdirSync(abs)) walk(path.join(abs, entry));
    else files.push(path.relative(repoRoot, abs));
  };
  for (const args of ops(file.stages.at(-1)!, 'COPY')) {
    if (args.startsWith('--from=')) continue;
    for (const src of args.split(/\s+/).slice(0, -1)) walk(path.join(repoRoot, src));
  }
  return files;
}

/** Replays `COPY <src>... <dest>` from the repository into `root` (the stage's WORKDIR /app). */
function replayCopy(args: string, root: string): void {
  const parts = args.split(/\s+/);
  const dest = parts.pop()!;
  for (const src of parts) {
    const into = dest.endsWith('/') || parts.length > 1 ? path.join(root, dest, path.basename(src)) : path.join(root, dest);
    fs.mkdirSync(path.dirname(into), { recursive: true });
    fs.cpSync(path.join(repoRoot, src), into, { recursive: true, filter: inContext });
  }
}

/**
 * Hash of what the replay depends on: the Dockerfile and the files its deps stage copies (root and
 * workspace manifests, the lock). Source edits do not change what installs or resolves.
 */
function inputsHash(app: string, file: Dockerfile): string {
  const hash = createHash('sha256').update(fs.readFileSync(path.join(repoRoot, dirOf(app), 'Dockerfile')));
  const deps = file.stages.find((s) => s.name === 'deps')!;
  for (const args of ops(deps, 'COPY')) {
    for (const src of args.split(/\s+/).slice(0, -1)) hash.update(src).update(fs.readFileSync(path.join(repoRoot, src)));
  }
  return hash.digest('hex');
}

describe('Dockerfiles', () => {
  it('when apps/ and operators/ are listed, then the services and the operator are there to check', () => {
    expect(apps.map((a) => a.name)).toEqual(expect.arrayContaining(['gateway', 'platform-operator']));
  });

  it('when .dockerignore is read, then it keeps unit tests, test folders and test beds out', () => {
    for (const file of ['apps/orders/src/x.test.ts', 'apps/orders/test/a.ts', 'operators/platform-operator/src/testing/fake-clock.ts', 'packages/db/test/support.ts']) {
      expect({ file, inContext: inContext(path.join(repoRoot, file)) }).toEqual({ file, inContext: false });
    }
    expect(inContext(path.join(repoRoot, 'apps/orders/src/main.ts'))).toBe(true);
    expect(inContext(path.join(repoRoot, 'packages/test-support/src/index.ts'))).toBe(true);
  });
});

describe.each(apps.map((a) => [a.dir, a.name, a.port] as const))('%s/Dockerfile', (dir, app, port) => {
  it('when its runtime stage is listed through .dockerignore, then no test file, test folder or test bed ships', () => {
    const shipped = shippedFiles(load(app));
    expect(shipped).toContain(`${dir}/src/main.ts`);
    expect(shipped.filter((f) => /\.test\.ts$|(^|\/)(test|testing)\//.test(f))).toEqual([]);
  });

  it('when read, then a deps stage and a runtime stage build on a Node 24 image pinned to a full release', () => {
    const file = load(app);
    expect(file.stages.length).toBeGreaterThanOrEqual(3);
    const names = new Set<string>();
    for (const stage of file.stages) {
      if (!names.has(stage.image)) expect(stage.image).toMatch(/^(node:24\.\d+\.\d+-(slim|bookworm-slim|trixie-slim)|gcr\.io\/distroless\/nodejs24-debian\d+)(@sha256:[0-9a-f]{64})?$|@sha256:[0-9a-f]{64}$/);
      if (stage.name) names.add(stage.name);
    }
    expect(file.stages.map((s) => s.name)).toContain('deps');
    expect(file.stages.at(-1)!.name).toBeUndefined();
  });

  it('when read, then npm 10 runs `npm ci` for the app workspace only, production dependencies only', () => {
    const file = load(app);
    const base = file.stages[0]!;
    expect(ops(base, 'RUN').join('\n')).toMatch(/npm install --global .*npm@10\.\d+\.\d+/);
    const deps = file.stages.find((s) => s.name === 'deps')!;
    expect(deps.image).toBe(base.name);
    const runs = ops(deps, 'RUN');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/^npm ci /);
    expect(runs[0]).toContain(`--workspace ${dir}`);
    expect(runs[0]).toContain('--omit=dev');
    expect(runs[0]).toContain('--include-workspace-root=false');
  });

  it('when read, then it copies exactly the workspace packages the app depends on, manifests first', () => {
    const file = load(app);
    const closure = workspaceClosure(app);
    const deps = file.stages.find((s) => s.name === 'deps')!;
    const fix = `${dir}/Dockerfile copies other packages than ${dir} needs (${closure.join(', ')}): \`npm run cluster -- dockerfile ${app}\` rewrites it`;
    if (ops(deps, 'COPY').length !== closure.length + 2) throw new Error(fix);
    expect(ops(deps, 'COPY')).toEqual([
      'package.json package-lock.json ./',
      ...closure.map((dir) => `${dir}/package.json ${dir}/`),
      `${dir}/package.json ${dir}/`,
    ]);
    const runtime = file.stages.at(-1)!;
    expect(runtime.image).toBe(file.stages[0]!.name);
    expect(ops(runtime, 'COPY')).toEqual([
      '--from=deps /app/node_modules ./node_modules',
      ...nestedModuleDirs(app).map((d) => `--from=deps /app/${d}/node_modules ./${d}/node_modules`),
      'package.json package-lock.json ./',
      ...closure.map((dir) => `${dir} ${dir}`),
      `${dir} ${dir}`,
    ]);
  });

  it(`when read, then the runtime stage runs the sources as uid ${RUNTIME_UID} on the app's port with a health check`, () => {
    const runtime = load(app).stages.at(-1)!;
    expect(ops(runtime, 'USER').at(-1)).toMatch(new RegExp(`^${RUNTIME_UID}(:${RUNTIME_UID})?$`));
    expect(ops(runtime, 'RUN').join('\n')).toContain(`chown -R ${RUNTIME_UID}:${RUNTIME_UID} /app`);
    expect(ops(runtime, 'ENV').join(' ')).toContain(`PORT=${port}`);
    expect(ops(runtime, 'EXPOSE').join(' ').split(/\s+/)).toContain(String(port));
    expect(ops(runtime, 'WORKDIR').at(-1)).toBe(`/app/${dir}`);
    expect(ops(runtime, 'HEALTHCHECK').join('\n')).toMatch(/CMD .*\/healthz/);
    expect(ops(runtime, 'CMD').at(-1)).toBe('["node", "--conditions=bulwark-source", "--enable-source-maps", "src/main.ts"]');
  });

  it('when read, then tini from Debian is PID 1 and node its child, so a `kill -9` from inside the container kills node', () => {
    const file = load(app);
    expect(ops(file.stages[0]!, 'RUN').join('\n')).toMatch(/apt-get install .*\btini\b/);
    expect(ops(file.stages.at(-1)!, 'ENTRYPOINT').at(-1)).toBe('["/usr/bin/tini", "--"]');
  });

  it(
    'when the deps stage is replayed with its npm release, then `npm ci` accepts the lock and every runtime dependency resolves in the runtime layout',
    () => {
      const file = load(app);
      const npmVersion = /npm@(\d+\.\d+\.\d+)/.exec(ops(file.stages[0]!, 'RUN').join('\n'))![1]!;
      // A replay that passed for exactly these inputs is not repeated (a warm machine saves ~25 s an app).
      const stamp = path.join(checkDir, `${app}.passed`);
      const key = inputsHash(app, file);
      if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === key) {
        console.log(`${dir}/Dockerfile: inputs unchanged since the last passing replay (${stamp})`);
        return;
      }
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `dockerfile-${app}-`));
      try {
        const depsRoot = path.join(scratch, 'deps');
        const deps = file.stages.find((s) => s.name === 'deps')!;
        for (const args of ops(deps, 'COPY')) replayCopy(args, depsRoot);
        const env = { ...process.env, PATH: `${npmBin(npmVersion)}:${path.dirname(process.execPath)}:${process.env.PATH}`, npm_config_cache: path.join(checkDir, 'npm-cache') };
        expect(exec('npm', ['--version'], { cwd: depsRoot, env }).trim()).toBe(npmVersion);
        exec('sh', ['-c', ops(deps, 'RUN')[0]!], { cwd: depsRoot, env });

        const runtimeRoot = path.join(scratch, 'runtime');
        fs.mkdirSync(runtimeRoot);
        for (const args of ops(file.stages.at(-1)!, 'COPY')) {
          const fromDeps = /^--from=deps \/app\/(\S+) \.\/(\S+)$/.exec(args);
          if (fromDeps) {
            fs.mkdirSync(path.dirname(path.join(runtimeRoot, fromDeps[2]!)), { recursive: true });
            fs.renameSync(path.join(depsRoot, fromDeps[1]!), path.join(runtimeRoot, fromDeps[2]!));
          }
          else replayCopy(args, runtimeRoot);
        }
        const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
        const names = Object.keys(manifest.dependencies ?? {}).filter((d) => !d.startsWith('@types/'));
        // Workspace packages are imported (their sources load their own dependencies); the rest resolved (one with subpath exports only, like y-protocols, by its package.json).
        const resolveOne = `try { import.meta.resolve(d); } catch (err) { if (err.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw err; import.meta.resolve(d + '/package.json'); }`;
        const script = `for (const d of ${JSON.stringify(names)}) { if (d.startsWith('@bulwark/')) await import(d); else { ${resolveOne} } } console.log('resolved ' + ${names.length});`;
        const out = exec(process.execPath, ['--conditions=bulwark-source', '--input-type=module', '-e', script], { cwd: path.join(runtimeRoot, dir), env: { ...process.env, NODE_ENV: 'production' } });
        expect(out.trim()).toBe(`resolved ${names.length}`);
        // Dev-only tooling stays out of the image.
        expect(fs.existsSync(path.join(runtimeRoot, 'node_modules', 'jest'))).toBe(false);
        fs.writeFileSync(stamp, key);
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    },
    INSTALL_MS,
  );
});
