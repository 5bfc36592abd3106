/**
 * Test helpers: the PSP simulator as a real child process, the payments
 * service in-process (port 0) or as a child process, each test on its own
 * PostgreSQL schema (random suffix) removed at cleanup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createPool, type DbLogger, type DbPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { createPaymentsApp, type PaymentsApp } from '../src/app.ts';
import { paymentsConfigSchema } from '../src/config.ts';

export const silent: DbLogger = { debug() {}, info() {}, warn() {}, error() {} };
const devNull = { write: () => true } as unknown as NodeJS.WritableStream;
const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

export const SECRET_OLD = 'whsec_old_0123456789abcdef';
export const SECRET_NEW = 'whsec_new_fedcba9876543210';

export function pgUrl(): string {
  const url = process.env.BULWARK_PG_URL;
  if (!url) throw new Error('BULWARK_PG_URL is not set: run tests with `npm test` so global setup starts PostgreSQL');
  return url;
}

export function suffix(): string {
  return randomUUID().replaceAll('-', '').slice(0, 10);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Polls until `predicate` holds; the deadline only bounds a hang, it asserts nothing about speed. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

export interface Child {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** Starts src/<entry> with Node 24 from the TypeScript sources and waits for /readyz. */
export async function spawnProcess(entry: string, port: number, env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', entry], {
    cwd: APP_DIR,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', SHUTDOWN_TIMEOUT_MS: '1000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor(async () => {
    if (gone) throw new Error(`${entry} exited before it was ready:\n${out}`);
    return ready(url);
  }, `${entry} ready on ${url}`);
  return { child, url, output: () => out, exited };
}

export async function stopChild(c: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill(signal);
  await c.exited;
}

export interface TestPayments {
  id: string;
  schema: string;
  db: DbPool;
  pspPort: number;
  /** Payments URL the PSP sends webhooks to (fixed before anything starts). */
  paymentsPort: number;
  psp?: Child;
  startPsp(env?: Record<string, string>): Promise<Child>;
  /** The payments service in this process on paymentsPort. */
  startApp(env?: Record<string, string>): Promise<{ app: PaymentsApp; url: string }>;
  /** The payments service as a child process on paymentsPort. */
  spawnApp(env?: Record<string, string>): Promise<Child>;
  paymentsEnv(env?: Record<string, string>): Record<string, string>;
  cleanup(): Promise<void>;
}

export async function setupPayments(): Promise<TestPayments> {
  const id = suffix();
  const schema = `payments_${id}`;
  const db = createPool({ connectionString: pgUrl(), name: `payments_test_${id}`, max: 10, registry: new Registry(), log: silent, searchPath: [schema] });
  const pspPort = await freePort();
  const paymentsPort = await freePort();
  const apps: PaymentsApp[] = [];
  const children: Child[] = [];
  const paymentsEnv = (env: Record<string, string> = {}): Record<string, string> => ({
    HOST: '127.0.0.1',
    PORT: String(paymentsPort),
    LOG_LEVEL: 'warn',
    DATABASE_URL: pgUrl(),
    PAYMENTS_SCHEMA: schema,
    PSP_URL: `http://127.0.0.1:${pspPort}`,
    PSP_TIMEOUT_MS: '1000',
    PSP_WEBHOOK_SECRETS: `${SECRET_NEW},${SECRET_OLD}`,
    PSP_FORWARD_SIMULATE_HEADER: 'true',
    PSP_BREAKER_VOLUME: '1000',
    EVENTS_ENABLED: 'false',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...env,
  });
  const t: TestPayments = {
    id,
    schema,
    db,
    pspPort,
    paymentsPort,
    async startPsp(env = {}) {
      const c = await spawnProcess('src/psp/main.ts', pspPort, {
        PSP_WEBHOOK_URLS: `http://127.0.0.1:${paymentsPort}/v1/psp/webhooks`,
        PSP_WEBHOOK_SECRETS: SECRET_OLD,
        PSP_WEBHOOK_BACKOFF_MS: '50',
        PSP_TIMEOUT_HOLD_MS: '5000',
        PSP_OUT_OF_ORDER_HOLD_MS: '300',
        ...env,
      });
      children.push(c);
      t.psp = c;
      return c;
    },
    async startApp(env = {}) {
      const config = loadConfig(paymentsConfigSchema, paymentsEnv(env));
      const app = createPaymentsApp({ config, logDestination: devNull as never });
      apps.push(app);
      const { url } = await app.start();
      return { app, url };
    },
    async spawnApp(env = {}) {
      const c = await spawnProcess('src/main.ts', paymentsPort, paymentsEnv(env));
      children.push(c);
      return c;
    },
    paymentsEnv,
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      for (const c of children) await stopChild(c, 'SIGKILL');
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
    },
  };
  return t;
}

/** The PSP's knobs, counters and webhook stats. */
export async function pspState(pspUrl: string): Promise<{ counters: Record<string, number>; webhooks: { delivered: number; failedAttempts: number; gaveUp: number; inFlight: number } }> {
  return (await call(pspUrl, 'GET', '/v1/_simulator')).body;
}

export async function setKnobs(pspUrl: string, knobs: Record<string, unknown>): Promise<void> {
  const r = await call(pspUrl, 'PUT', '/v1/_simulator', knobs);
  if (r.status !== 200) throw new Error(`PUT /v1/_simulator: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Waits until the PSP has no webhook delivery in flight or held back. */
export async function webhooksSettled(pspUrl: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 350)); // past PSP_OUT_OF_ORDER_HOLD_MS, so held events are in flight
  await waitFor(async () => (await pspState(pspUrl)).webhooks.inFlight === 0, 'PSP webhooks delivered');
}
