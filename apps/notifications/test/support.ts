/**
 * Test helpers: the notifications service in-process (port 0) or as a child
 * process, each test on its own PostgreSQL schema and BullMQ key prefix
 * (random suffix) removed at cleanup; real receiving HTTP servers. The
 * service connects as the runtime role (row-level security applies) and
 * migrates as the owner; the admin pool `db` is the owner (a superuser: it
 * sees and writes every tenant's rows).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { deletePrefix, pgUrl, redisUrl, runtimeDbUrl, silent, startHttpServer, startService, suffix, type HttpServer, type Service } from '@bulwark/test-support';
import { SIGNATURE_HEADER } from '@bulwark/webhook-signature';
import { createNotificationsApp, type NotificationsApp, type NotificationsAppOptions } from '../src/app.ts';
import { notificationsConfigSchema } from '../src/config.ts';

export { call, silent, waitFor, type Reply, type Service } from '@bulwark/test-support';

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;
const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

export const PROVIDER_SECRET = 'provider_secret_0123456789abcdef';

export interface Received {
  path: string;
  body: string;
  signature: string | undefined;
  eventId: string | undefined;
  at: number;
}

/** A status, a status after a delay, or 'hold' (answered only by releaseHeld). */
export type Answer = number | 'hold' | { status: number; delayMs: number };

/**
 * A receiving HTTP server. `script(path)` decides each answer: a status, or
 * 'hold' to keep the request open until released.
 */
export class Receiver {
  readonly received: Received[] = [];
  readonly #plans = new Map<string, (n: number) => Answer>();
  readonly #held: (() => void)[] = [];
  #http: HttpServer | undefined;
  url = '';

  async start(): Promise<this> {
    this.#http = await startHttpServer((req, res) => this.#answer(req, res));
    this.url = this.#http.url;
    return this;
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = this.received.filter((r) => r.path === path).length;
      this.received.push({ path, body: Buffer.concat(chunks).toString('utf8'), signature: req.headers[SIGNATURE_HEADER] as string | undefined, eventId: req.headers['bulwark-event-id'] as string | undefined, at: Date.now() });
      const answer = this.#plans.get(path)?.(n) ?? 200;
      if (answer === 'hold') {
        this.#held.push(() => res.writeHead(200).end('late ok'));
        return;
      }
      const { status, delayMs } = typeof answer === 'number' ? { status: answer, delayMs: 0 } : answer;
      const reply = () => res.writeHead(status).end(status < 300 ? 'ok' : `failing with ${status}`);
      if (delayMs > 0) setTimeout(reply, delayMs);
      else reply();
    });
  }

  /** The n-th request (0-based) to `path` gets plan(n). */
  plan(path: string, plan: (n: number) => Answer): void {
    this.#plans.set(path, plan);
  }
  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }
  releaseHeld(): void {
    for (const release of this.#held.splice(0)) release();
  }
  async stop(): Promise<void> {
    this.releaseHeld();
    await this.#http?.close();
  }
}

export interface TestNotifications {
  id: string;
  schema: string;
  prefix: string;
  db: DbPool;
  env(extra?: Record<string, string>): Record<string, string>;
  startApp(extra?: Record<string, string>, options?: Partial<NotificationsAppOptions>): Promise<{ app: NotificationsApp; url: string }>;
  /** The service as a child process (its own worker), on a free port. */
  spawnApp(extra?: Record<string, string>): Promise<Service>;
  cleanup(): Promise<void>;
}

/** Fast retries and a small breaker so behaviour shows in seconds; loopback receivers allowed. */
export const FAST = {
  WEBHOOK_BACKOFF_BASE_MS: '20',
  WEBHOOK_BACKOFF_CAP_MS: '200',
  ENDPOINT_BREAKER_OPEN_AFTER: '100',
  ENDPOINT_DISABLE_AFTER: '100',
  DISPATCH_INTERVAL_MS: '100',
};

export async function setupNotifications(): Promise<TestNotifications> {
  const id = suffix();
  const schema = `notifications_${id}`;
  const prefix = `notif-${id}`;
  const db = createPool({ connectionString: pgUrl(), name: `notifications_test_${id}`, max: 5, registry: new Registry(), log: silent, searchPath: [schema] });
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const apps: NotificationsApp[] = [];
  const children: Service[] = [];
  const baseEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    DATABASE_URL: runtimeUrl,
    MIGRATION_DATABASE_URL: pgUrl(),
    NOTIFICATIONS_SCHEMA: schema,
    REDIS_URL: redisUrl(),
    JOBS_PREFIX: prefix,
    SSRF_ALLOW_LOOPBACK: 'true',
    EVENTS_ENABLED: 'false',
    PROVIDER_WEBHOOK_SECRETS: PROVIDER_SECRET,
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...FAST,
    ...extra,
  });
  return {
    id,
    schema,
    prefix,
    db,
    env: baseEnv,
    async startApp(extra = {}, options = {}) {
      const config = loadConfig(notificationsConfigSchema, baseEnv(extra));
      const app = createNotificationsApp({ config, logDestination: devNull as never, ...options });
      apps.push(app);
      const { url } = await app.start();
      return { app, url };
    },
    async spawnApp(extra = {}) {
      const c = await startService({ name: 'notifications', main: 'src/main.ts', cwd: APP_DIR, env: baseEnv(extra) });
      children.push(c);
      return c;
    },
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      for (const c of children) await c.kill('SIGKILL');
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await db.close();
      await deletePrefix(redisUrl(), `${prefix}:`);
    },
  };
}
