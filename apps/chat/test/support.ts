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
import { loadConfig } from '@bulwark/service-kit';
import { devNull, redisUrl, setupServiceBed, tenantCall, TEST_TENANT, waitFor, type ServiceBed } from '@bulwark/test-support';
import { startIssuer, type Issuer } from '../../gateway/test/support.ts';
import { createChatApp, type ChatApp } from '../src/app.ts';
import { chatConfigSchema } from '../src/config.ts';

export { TEST_TENANT, OTHER_TENANT, waitFor, call } from '@bulwark/test-support';
export type { Issuer } from '../../gateway/test/support.ts';

/** REST calls as the gateway would make them for `user` of `tenant`. */
export const as = (user: string, tenant = TEST_TENANT) => {
  const call = tenantCall(tenant);
  return (url: string, method: string, path: string, body?: unknown) => call(url, method, path, body, { 'x-auth-sub': user });
};

export interface TestChat extends ServiceBed<ChatApp> {
  prefix: string;
  issuer: Issuer;
  /** An access token like identity's (sub, tenant, roles, sid, aud). */
  token(user: string, options?: { tenant?: string; expiresIn?: string | number }): Promise<string>;
}

export async function setupChat(): Promise<TestChat> {
  const issuer = await startIssuer('ES256');
  const prefixOf = (id: string): string => `chat-test-${id}`;
  const bed = await setupServiceBed({
    name: 'chat',
    schemaEnv: 'CHAT_SCHEMA',
    main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
    create: (env) => createChatApp({ config: loadConfig(chatConfigSchema, env), logDestination: devNull }),
    env: ({ id }) => ({ REDIS_URL: redisUrl(), CHAT_REDIS_PREFIX: prefixOf(id), JWKS_URL: issuer.jwksUrl, SHUTDOWN_DELAY_MS: '0' }),
    redisPrefixes: ({ id }) => [prefixOf(id)],
  });
  bed.onCleanup(() => issuer.close());
  return Object.assign(bed, {
    prefix: prefixOf(bed.id),
    issuer,
    token: (user: string, options: { tenant?: string; expiresIn?: string | number } = {}) =>
      issuer.sign({ sub: user, tenant: options.tenant ?? TEST_TENANT, roles: ['orders'], sid: randomUUID(), aud: 'bulwark' }, { expiresIn: options.expiresIn ?? '5m' }),
  });
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
