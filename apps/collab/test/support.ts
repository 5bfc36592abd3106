/**
 * Test helpers: collab instances as child processes (src/main.ts, so they
 * can be SIGKILLed) against the PostgreSQL and Redis of Jest global setup,
 * each suite in its own schema and Redis channel prefix; a token issuer
 * (JWKS over HTTP, like identity); y-websocket clients (Y.Doc +
 * WebsocketProvider) and raw sockets for close codes.
 */
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { createPool, type DbPool } from '@bulwark/db';
import { pgUrl, redisUrl, runtimeDbUrl, silent, startService, suffix, tenantCall, TEST_TENANT, waitFor, type Service } from '@bulwark/test-support';
import { startIssuer, type Issuer } from '../../gateway/test/support.ts';

export { TEST_TENANT };
export const ISSUER = 'https://identity.test';
export const AUDIENCE = 'bulwark';
export const call = tenantCall(TEST_TENANT);
/** What the gateway forwards for a verified writer of TEST_TENANT. */
export const EDITOR = { 'x-auth-sub': 'editor-1', 'x-auth-roles': 'editor' };

const APP_DIR = new URL('..', import.meta.url).pathname;

export interface TestCollab {
  schema: string;
  issuer: Issuer;
  db: DbPool;
  /** A token of `tenant` (default TEST_TENANT) with `roles`. */
  token(options?: { sub?: string; tenant?: string; roles?: string[]; expiresIn?: string | number }): Promise<string>;
  spawn(extra?: Record<string, string>): Promise<Service>;
  cleanup(): Promise<void>;
}

export async function setupCollab(): Promise<TestCollab> {
  const id = suffix();
  const schema = `collab_${id}`;
  const issuer = await startIssuer();
  const runtimeUrl = await runtimeDbUrl(pgUrl());
  const db = createPool({ connectionString: pgUrl(), name: `collab_test_${id}`, max: 3, registry: new Registry(), log: silent, searchPath: [schema] });
  const children: Service[] = [];
  return {
    schema,
    issuer,
    db,
    token: ({ sub = 'editor-1', tenant = TEST_TENANT, roles = ['editor'], expiresIn = '5m' } = {}) => issuer.sign({ sub, tenant, roles, iss: ISSUER, aud: AUDIENCE }, { expiresIn }),
    async spawn(extra = {}) {
      const child = await startService({
        name: 'collab',
        main: 'src/main.ts',
        cwd: APP_DIR,
        env: {
          DATABASE_URL: runtimeUrl,
          MIGRATION_DATABASE_URL: pgUrl(),
          COLLAB_SCHEMA: schema,
          REDIS_URL: redisUrl(),
          REDIS_PREFIX: `collab-${id}`,
          JWKS_URL: issuer.jwksUrl,
          JWT_ISSUER: ISSUER,
          JWT_AUDIENCE: AUDIENCE,
          DB_POOL_MAX: '5',
          ...extra,
        },
      });
      children.push(child);
      return child;
    },
    async cleanup() {
      for (const c of children) await c.stop();
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await db.close();
      await issuer.close();
    },
  };
}

export interface Editor {
  doc: Y.Doc;
  provider: WebsocketProvider;
  text: Y.Text;
  destroy(): void;
}

/** A Y.Doc editing `documentId` on `instance` through y-websocket's own client. */
export function connectEditor(instance: { port: number }, documentId: string, token: string): Editor {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`ws://127.0.0.1:${instance.port}/v1/collab`, documentId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { token },
    disableBc: true,
    maxBackoffTime: 200,
  });
  return {
    doc,
    provider,
    text: doc.getText('content'),
    destroy() {
      provider.destroy();
      doc.destroy();
    },
  };
}

export async function synced(...editors: Editor[]): Promise<void> {
  await waitFor(() => editors.every((e) => e.provider.synced), 'editors synced');
}

/** Opens a raw socket and resolves with the close code and reason the server sent. */
export function closeOf(url: string, headers: Record<string, string> = {}): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', reject);
  });
}

export async function createDocument(instance: { url: string }, body: Record<string, unknown>, headers: Record<string, string> = EDITOR): Promise<string> {
  const reply = await call(instance.url, 'POST', '/v1/documents', body, headers);
  if (reply.status !== 201) throw new Error(`create: ${reply.status} ${JSON.stringify(reply.body)}`);
  return (reply.body as { id: string }).id;
}
