/**
 * Test bed of the chat: the real service against the shared PostgreSQL and
 * Redis, each suite in its own schema and Redis prefix (random suffix),
 * removed at cleanup; tokens signed by a real JWKS server (the gateway
 * tests' issuer); instances in-process on port 0 or as child processes
 * (src/main.ts) for kills; and a WebSocket client that records frames.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { deletePrefix, pgUrl, redisUrl, runtimeDbUrl, sessionDbUrl, silent, startService, suffix, tenantCall, TEST_TENANT, waitFor, type Service } from '@bulwark/test-support';
import { startIssuer, type Issuer } from '../../gateway/test/support.ts';
import { createChatApp, type ChatApp } from '../src/app.ts';
import { chatConfigSchema } from '../src/config.ts';

export { TEST_TENANT, OTHER_TENANT, waitFor, call } from '@bulwark/test-support';
export type { Issuer } from '../../gateway/test/support.ts';

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** REST calls as the gateway would make them for `user` of `tenant`. */
export const as = (user: string, tenant = TEST_TENANT) => {
  const call = tenantCall(tenant);
  return (url: string, method: string, path: string, body?: unknown) => call(url, method, path, body, { 'x-auth-sub': user });
};

export interface TestChat {
  schema: string;
  prefix: string;
  issuer: Issuer;
  /** Owner pool on the test schema (rows written as TEST_TENANT). */
  db: DbPool;
  env(extra?: Record<string, string>): Record<string, string>;
  /** An in-process instance. */
  start(env?: Record<string, string>): Promise<{ app: ChatApp; url: string }>;
  /** An instance as a child process (src/main.ts), for SIGKILL. */
  spawn(env?: Record<string, string>): Promise<Service>;
  /** An access token like identity's (sub, tenant, roles, sid, aud). */
  token(user: string, options?: { tenant?: string; expiresIn?: string | number }): Promise<string>;
  cleanup(): Promise<void>;
}

export async function setupChat(): Promise<TestChat> {
  const id = suffix();
  const schema = `chat_${id}`;
  const prefix = `chat-test-${id}`;
  const issuer = await startIssuer('ES256');
  const db = createPool({ connectionString: sessionDbUrl(pgUrl(), { searchPath: schema, tenant: TEST_TENANT }), name: `chat_test_${id}`, max: 4, registry: new Registry(), log: silent });
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const apps: ChatApp[] = [];
  const children: Service[] = [];
  const envOf = (extra: Record<string, string> = {}): Record<string, string> => ({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: runtimeUrl,
    MIGRATION_DATABASE_URL: pgUrl(),
    CHAT_SCHEMA: schema,
    REDIS_URL: redisUrl(),
    CHAT_REDIS_PREFIX: prefix,
    JWKS_URL: issuer.jwksUrl,
    SHUTDOWN_TIMEOUT_MS: '2000',
    SHUTDOWN_DELAY_MS: '0',
    ...extra,
  });
  return {
    schema,
    prefix,
    issuer,
    db,
    env: envOf,
    async start(env = {}) {
      const config = loadConfig(chatConfigSchema, envOf(env));
      const app = createChatApp({ config, logDestination: devNull as never });
      apps.push(app);
      const { url } = await app.start();
      return { app, url };
    },
    async spawn(env = {}) {
      const { PORT: _port, ...rest } = envOf(env);
      const child = await startService({ main: MAIN, name: 'chat', env: rest, stopGraceMs: 3_000 });
      children.push(child);
      return child;
    },
    token: (user, options = {}) => issuer.sign({ sub: user, tenant: options.tenant ?? TEST_TENANT, roles: ['orders'], sid: randomUUID(), aud: 'bulwark' }, { expiresIn: options.expiresIn ?? '5m' }),
    async cleanup() {
      for (const app of apps.reverse()) await app.service.stop().catch(() => undefined);
      for (const child of children) await child.stop().catch(() => undefined);
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
      await deletePrefix(redisUrl(), prefix);
      await issuer.close();
    },
  };
}

export interface Frame {
  type: string;
  [key: string]: unknown;
}

/** A WebSocket client that records every frame and how it closed. */
export class ChatClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, options: { token?: string; query?: string; headers?: Record<string, string> } = {}) {
    const wsUrl = `${url.replace(/^http/, 'ws')}/v1/chat/ws${options.query ? `?${options.query}` : ''}`;
    this.ws = new WebSocket(wsUrl, { headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers } });
    this.ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
    this.ws.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  /** Connects and waits for the welcome frame. */
  static async connect(url: string, token: string, query?: string): Promise<ChatClient> {
    const client = new ChatClient(url, { token, ...(query ? { query } : {}) });
    await client.next((f) => f.type === 'welcome', 'welcome');
    return client;
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** The first recorded frame matching `match` (waits for it). */
  async next(match: (f: Frame) => boolean, what: string): Promise<Frame> {
    let found: Frame | undefined;
    await waitFor(() => (found = this.frames.find(match)) !== undefined || this.closed !== undefined, what);
    if (!found) throw new Error(`closed ${JSON.stringify(this.closed)} before ${what}`);
    return found;
  }

  /** Sends a frame with a fresh ref and waits for its reply (ok, ack, subscribed or error). */
  async request(frame: object): Promise<Frame> {
    const ref = randomUUID();
    this.send({ ...frame, ref });
    return this.next((f) => f.ref === ref, `reply to ${JSON.stringify(frame)}`);
  }

  async closedWith(): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.closed !== undefined, 'the connection to close');
    return this.closed!;
  }

  /** The room's message (and hidden) sequence numbers in the order received. */
  seqs(room: string): number[] {
    return this.frames.filter((f) => (f.type === 'message' || f.type === 'hidden') && f.room === room).map((f) => (f.type === 'message' ? (f.message as { seq: number }).seq : (f.seq as number)));
  }

  close(): void {
    this.ws.close();
  }
}
