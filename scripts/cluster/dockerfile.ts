/**
 * Reading the images' Dockerfiles without a Docker engine: a parser for the
 * subset they use (comments, line continuations, ARG before FROM, stages) and
 * the dependency closure a Dockerfile must copy. scripts/test/dockerfiles.test.ts
 * checks the pattern with it and replays each deps stage's `npm ci` in a
 * scratch directory. An image is built from a runnable workspace: an app
 * (`apps/<name>`) or the operator (`operators/<name>`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './settings.ts';

export interface Instruction {
  /** Upper-case keyword: COPY, RUN, USER, ... */
  op: string;
  /** Everything after the keyword, continuations joined. */
  args: string;
}

export interface Stage {
  /** Image reference after ARG substitution. */
  image: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
  /** The comment lines, for notes such as the health-check contract. */
  comments: string[];
}

export function parseDockerfile(text: string): Dockerfile {
  const comments: string[] = [];
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) {
      comments.push(line);
      continue;
    }
    if (!line && !pending) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push((pending + line).trim());
    pending = '';
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical.filter(Boolean)) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const op = keyword.toUpperCase();
    if (op === 'FROM') {
      const [, ref = '', name] = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      const image = ref.replace(/\$\{?(\w+)\}?/g, (_, v: string) => globalArgs[v] ?? '');
      stages.push({ image, name, instructions: [] });
    } else if (stages.length === 0 && op === 'ARG') {
      const [name = '', value = ''] = rest.split('=', 2);
      globalArgs[name] = value;
    } else {
      stages.at(-1)?.instructions.push({ op, args: rest });
    }
  }
  return { globalArgs, stages, comments };
}

/** The workspace directory of an image's name: `apps/<name>` when it exists, else `operators/<name>`. */
export function workspaceDir(name: string): string {
  return fs.existsSync(path.join(repoRoot, 'apps', name, 'package.json')) ? `apps/${name}` : `operators/${name}`;
}

/** Every workspace that ships as an image: the apps with a `src/main.ts`, and the operators. */
export function imageWorkspaces(): string[] {
  const found: string[] = [];
  for (const parent of ['apps', 'operators']) {
    const dir = path.join(repoRoot, parent);
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir).sort()) {
      if (fs.existsSync(path.join(dir, entry, 'src', 'main.ts')) && fs.existsSync(path.join(dir, entry, 'package.json'))) found.push(entry);
    }
  }
  return found;
}

export function readDockerfile(name: string): Dockerfile {
  return parseDockerfile(fs.readFileSync(path.join(repoRoot, workspaceDir(name), 'Dockerfile'), 'utf8'));
}

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
}

const readPackage = (dir: string): PackageJson => JSON.parse(fs.readFileSync(path.join(repoRoot, dir, 'package.json'), 'utf8')) as PackageJson;

/** Workspace folders (`packages/<lib>`) an app or operator needs at run time, following their own dependencies. */
export function workspaceClosure(app: string): string[] {
  const byName = new Map<string, string>();
  for (const entry of fs.readdirSync(path.join(repoRoot, 'packages'))) {
    const dir = `packages/${entry}`;
    if (fs.existsSync(path.join(repoRoot, dir, 'package.json'))) byName.set(readPackage(dir).name, dir);
  }
  const found = new Set<string>();
  const visit = (dir: string): void => {
    for (const dep of Object.keys(readPackage(dir).dependencies ?? {})) {
      const target = byName.get(dep);
      if (target && !found.has(target)) {
        found.add(target);
        visit(target);
      }
    }
  };
  visit(workspaceDir(app));
  return [...found].sort();
}

/**
 * Workspace folders of the image (its closure and itself) where the lock installs production
 * dependencies of their own (`<dir>/node_modules/…`: a version the root cannot hoist, such as
 * packages/cache's lru-cache 11 beside the root's 5): the runtime stage copies those folders
 * from the deps stage too, or the package would not resolve them.
 */
export function nestedModuleDirs(app: string): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages?: Record<string, { dev?: boolean }> };
  const entries = Object.entries(lock.packages ?? {});
  return [...workspaceClosure(app), workspaceDir(app)].filter((dir) => entries.some(([at, entry]) => at.startsWith(`${dir}/node_modules/`) && entry.dev !== true)).sort();
}

/**
 * The Dockerfile of an app in the shared pattern (`npm run cluster -- dockerfile <app>` writes it).
 * From an existing file it keeps the title comment, the EXPOSE line and the CMD, so an app with
 * a second port or entry point (payments' PSP simulator) keeps them.
 */
export function renderDockerfile(app: string, previous = ''): string {
  const dir = workspaceDir(app);
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, dir, 'package.json'), 'utf8')) as { bulwark?: { port?: number } };
  const port = pkg.bulwark?.port;
  if (!Number.isInteger(port)) throw new Error(`${dir}/package.json: declare "bulwark": { "port": <number> }`);
  const lines = previous.split('\n');
  const title = /^# (.*?) Built from/.exec(lines[0] ?? '')?.[1] ?? `${app[0]!.toUpperCase()}${app.slice(1)} image.`;
  const expose = lines.find((l) => l.startsWith('EXPOSE ')) ?? `EXPOSE ${port}`;
  const cmd = lines.filter((l) => l.startsWith('CMD ')).at(-1) ?? 'CMD ["node", "--conditions=bulwark-source", "--enable-source-maps", "src/main.ts"]';
  const packages = workspaceClosure(app);
  const nested = nestedModuleDirs(app);
  return `# ${title} Built from the repository root:
#   docker build -f ${dir}/Dockerfile -t bulwark/${app} .
# Runs the TypeScript sources with Node 24 type stripping and the \`bulwark-source\` condition
# (workspace packages resolve to their src/): no build step, and what runs is what the tests ran.
#
# The pattern every image's Dockerfile (apps/*, operators/*) follows (written by \`npm run cluster -- dockerfile ${app}\`;
# scripts/test/dockerfiles.test.ts checks it and runs the deps stage's install for real):
# - the base image is pinned to a full Node 24 release;
# - npm 10 runs \`npm ci\`: npm 11 writes a package-lock.json without other platforms' optional
#   binaries and then refuses that lock in \`npm ci\` (docs/DECISIONS.md), npm 10 installs from it;
# - only the image's workspace and the workspace packages it depends on (transitively) are copied,
#   and only their production dependencies installed;
# - tests stay out: .dockerignore keeps \`*.test.ts\`, \`test/\` and \`testing/\` out of the build context;
# - it runs as uid 10001, the charts' runAsUser, which also owns /app for Tilt's live_update;
# - Kubernetes probes /healthz and /readyz (charts/_lib); HEALTHCHECK serves \`docker run\`;
# - tini (Debian's package) is PID 1 and node its child: it forwards SIGTERM and reaps, and a
#   \`kill -9\` of node from \`kubectl exec\` kills it (PID 1 ignores a SIGKILL sent from its own namespace).
ARG NODE_IMAGE=node:24.21.0-slim

FROM \${NODE_IMAGE} AS base
RUN apt-get update && apt-get install --yes --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
RUN npm install --global --no-audit --no-fund npm@10.9.9 && npm cache clean --force
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_CACHE=/tmp/.npm

FROM base AS deps
WORKDIR /app
COPY package.json package-lock.json ./
${packages.map((pkgDir) => `COPY ${pkgDir}/package.json ${pkgDir}/\n`).join('')}COPY ${dir}/package.json ${dir}/
RUN npm ci --omit=dev --no-audit --no-fund --workspace ${dir} --include-workspace-root=false

FROM base
ENV NODE_ENV=production PORT=${port}
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
${nested.map((d) => `COPY --from=deps /app/${d}/node_modules ./${d}/node_modules\n`).join('')}COPY package.json package-lock.json ./
${packages.map((pkgDir) => `COPY ${pkgDir} ${pkgDir}\n`).join('')}COPY ${dir} ${dir}
RUN chown -R 10001:10001 /app
USER 10001:10001
${expose}
WORKDIR /app/${dir}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \\
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
${cmd}
`;
}

/** Writes <workspace>/Dockerfile in the shared pattern; returns its path. */
export function writeDockerfile(app: string): string {
  const file = path.join(repoRoot, workspaceDir(app), 'Dockerfile');
  fs.writeFileSync(file, renderDockerfile(app, fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''));
  return file;
}
