/**
 * Local service processes for `npm run up`: every workspace under apps/ that
 * has `src/main.ts` and declares `"bulwark": { "port": N }` in its
 * package.json is started with Node 24 straight from its TypeScript sources,
 * detached, logging to .local/services/<name>.log, then awaited on /readyz and
 * registered as a Prometheus scrape target.
 */
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
    const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { bulwark?: { port?: number } };
    const port = pkg.bulwark?.port;
    if (!Number.isInteger(port)) throw new Error(`${pkgFile}: declare "bulwark": { "port": <number> } so npm run up can start it`);
    apps.push({ name: entry.name, dir, main, port: port! });
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

/** Starts the app unless ours is already running; waits for readiness. */
export async function startApp(app: AppInfo, env: Record<string, string>, timeoutMs = 60_000): Promise<RunningApp> {
  fs.mkdirSync(settings.services.dir, { recursive: true });
  const url = `http://${settings.host}:${app.port}`;
  const existing = readPid(pidFileOf(app.name));
  if (isOurProcess(existing, app.main) && (await ready(url))) return { ...app, url, pid: existing! };
  const pid = startDetached(process.execPath, ['--conditions=bulwark-source', '--enable-source-maps', app.main], logFileOf(app.name), pidFileOf(app.name), {
    cwd: app.dir,
    env: { ...process.env, ...env, PORT: String(app.port), HOST: settings.host, SERVICE_NAME: app.name },
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
