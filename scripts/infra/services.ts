/**
 * Local service processes for `npm run up`: every workspace under apps/ that
 * has `src/main.ts` and declares `"bulwark": { "port": N }` in its
 * package.json is started with Node 24 straight from its TypeScript sources,
 * detached, logging to .local/services/<name>.log, then awaited on /readyz and
 * registered as a Prometheus scrape target.
 *
 * An app may declare companion processes it needs locally (the PSP simulator
 * next to payments) and extra environment for itself and them:
 *   "bulwark": { "port": 8083, "env": { … },
 *                "processes": [{ "name": "psp-simulator", "main": "src/psp/main.ts", "port": 8085, "env": { … } }] }
 * Environment values may name a local secret as `{{secret:<name>}}`: it is
 * generated once into .local/services/secrets/<name> (mode 0600) and the same
 * value is given to every process that names it, so no secret is committed.
 * They name another app or companion's address as `{{url:<name>}}`
 * (`http://<host>:<its declared port>`): a port is written once, in the
 * package.json of the app that listens on it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isOurProcess, readPid, startDetached, stopPid, waitFor } from './proc.ts';
import { writeScrapeTarget } from './prometheus.ts';
import { repoRoot, settings } from './settings.ts';

export interface AppInfo {
  name: string;
  dir: string;
  main: string;
  port: number;
  /** Extra environment from package.json, secrets already resolved at start. */
  env?: Record<string, string>;
  /** Companion processes started before the app itself. */
  companions?: AppInfo[];
}

interface ProcessDeclaration {
  name?: unknown;
  main?: unknown;
  port?: unknown;
  env?: unknown;
}

function envOf(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new Error(`${where}: "env" must map names to strings`);
  }
  return value as Record<string, string>;
}

function companionsOf(value: unknown, dir: string, pkgFile: string): AppInfo[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new Error(`${pkgFile}: "bulwark.processes" must be a list`);
  return (value as ProcessDeclaration[]).map((p, i) => {
    const where = `${pkgFile}: bulwark.processes[${i}]`;
    if (typeof p.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(p.name)) throw new Error(`${where}: "name" must be a lowercase name`);
    if (typeof p.main !== 'string' || !fs.existsSync(path.join(dir, p.main))) throw new Error(`${where}: "main" must name an existing file`);
    if (!Number.isInteger(p.port)) throw new Error(`${where}: "port" must be a number`);
    const env = envOf(p.env, where);
    return { name: p.name, dir, main: path.join(dir, p.main), port: (p.port as number) + settings.services.portOffset, ...(env ? { env } : {}) };
  });
}

/** Every app's and companion's local address by name: what `{{url:<name>}}` stands for. */
export function localAddresses(apps: readonly AppInfo[], host = settings.host): Record<string, string> {
  const addresses: Record<string, string> = {};
  for (const app of apps) for (const a of [app, ...(app.companions ?? [])]) addresses[a.name] = `http://${host}:${a.port}`;
  return addresses;
}

/** Where `npm run up` put the front door, the mail sink's inbox and inventory (for seeding). */
export function platformUrls(apps: readonly AppInfo[] = discoverApps()): { gateway: string; mail: string; inventory: string } {
  const addresses = localAddresses(apps);
  // A mail sink given by its URL (as ensureInfra reuses one) wins over this checkout's own port.
  const mail = process.env.BULWARK_MAIL_URL ?? `http://${settings.host}:${settings.mail.webPort}`;
  return { gateway: addresses.gateway!, inventory: addresses.inventory!, mail };
}

/**
 * Replaces `{{secret:<name>}}` with a per-machine generated secret kept under
 * .local/services/secrets, `{{url:<name>}}` with that app's address from
 * `addresses` (an unknown name throws: a route to nowhere is a start-up error),
 * and `{{env:<NAME>}}` with a variable of the services' environment `vars`
 * (e.g. the runtime database role's URL; an unknown name throws).
 */
export function resolveEnv(
  env: Record<string, string> | undefined,
  secretsDir = path.join(settings.services.dir, 'secrets'),
  addresses: Readonly<Record<string, string>> = {},
  vars: Readonly<Record<string, string | undefined>> = {},
): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [key, value] of Object.entries(env ?? {})) {
    const withVars = value.replace(/\{\{env:([A-Z0-9_]+)\}\}/g, (_m, name: string) => {
      const found = vars[name];
      if (found === undefined || found === '') throw new Error(`${key}: {{env:${name}}} names no variable of the services' environment`);
      return found;
    });
    const withUrls = withVars.replace(/\{\{url:([a-z0-9-]+)\}\}/g, (_m, name: string) => {
      const address = addresses[name];
      if (!address) throw new Error(`${key}: {{url:${name}}} names no app or companion under apps/ (known: ${Object.keys(addresses).join(', ') || 'none'})`);
      return address;
    });
    resolved[key] = withUrls.replace(/\{\{secret:([a-z0-9-]+)\}\}/g, (_m, name: string) => {
      const file = path.join(secretsDir, name);
      if (!fs.existsSync(file)) {
        fs.mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
      }
      return fs.readFileSync(file, 'utf8').trim();
    });
  }
  return resolved;
}

export interface RunningApp extends AppInfo {
  url: string;
  pid: number;
}

export function discoverApps(appsDir = path.join(repoRoot, 'apps')): AppInfo[] {
  if (!fs.existsSync(appsDir)) return [];
  const apps: AppInfo[] = [];
  for (const entry of fs.readdirSync(appsDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(appsDir, entry.name);
    const main = path.join(dir, 'src', 'main.ts');
    const pkgFile = path.join(dir, 'package.json');
    if (!fs.existsSync(main) || !fs.existsSync(pkgFile)) continue;
    const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { bulwark?: { port?: number; env?: unknown; processes?: unknown } };
    const port = pkg.bulwark?.port;
    if (!Number.isInteger(port)) throw new Error(`${pkgFile}: declare "bulwark": { "port": <number> } so npm run up can start it`);
    const env = envOf(pkg.bulwark?.env, pkgFile);
    const companions = companionsOf(pkg.bulwark?.processes, dir, pkgFile);
    apps.push({ name: entry.name, dir, main, port: port! + settings.services.portOffset, ...(env ? { env } : {}), ...(companions ? { companions } : {}) });
  }
  return apps.sort((a, b) => a.name.localeCompare(b.name));
}

const pidFileOf = (name: string): string => path.join(settings.services.dir, `${name}.pid`);
export const logFileOf = (name: string): string => path.join(settings.services.dir, `${name}.log`);

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** Starts the app unless ours is already running; waits for readiness. `addresses` resolves `{{url:<name>}}` (localAddresses). */
export async function startApp(app: AppInfo, env: Record<string, string>, addresses: Readonly<Record<string, string>>, timeoutMs = 60_000): Promise<RunningApp> {
  fs.mkdirSync(settings.services.dir, { recursive: true });
  const url = `http://${settings.host}:${app.port}`;
  const existing = readPid(pidFileOf(app.name));
  if (isOurProcess(existing, app.main) && (await ready(url))) return { ...app, url, pid: existing! };
  const pid = startDetached(process.execPath, ['--conditions=bulwark-source', '--enable-source-maps', app.main], logFileOf(app.name), pidFileOf(app.name), {
    cwd: app.dir,
    env: { ...process.env, ...env, ...resolveEnv(app.env, undefined, addresses, env), PORT: String(app.port), HOST: settings.host, SERVICE_NAME: app.name },
  });
  await waitFor(`${app.name} on ${url}/readyz`, () => ready(url), timeoutMs, logFileOf(app.name));
  writeScrapeTarget(app.name, app.port);
  return { ...app, url, pid };
}

export async function stopApp(app: AppInfo): Promise<boolean> {
  const pid = readPid(pidFileOf(app.name));
  writeScrapeTarget(app.name, undefined);
  if (!isOurProcess(pid, app.main)) return false;
  await stopPid(pid!, 30_000);
  fs.rmSync(pidFileOf(app.name), { force: true });
  return true;
}
