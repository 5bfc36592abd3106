/**
 * The WebSocket side of the chat on the service's own server: upgrades of
 * GET /v1/chat/ws are authenticated (authenticate.ts) and become ChatConnections;
 * a refused one is accepted and closed at once with its close code (a
 * browser sees close codes, not the status of a refused upgrade). Protocol
 * pings find dead clients; one sweep a second ends expired tokens and runs
 * due session checks (no timer per connection); user events are routed
 * to the user's connections from one pattern subscription. The kit's drain
 * closes every socket 1001 so clients reconnect to another instance and
 * resume.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { DbPool } from '@bulwark/db';
import { LocalLimiter } from '@bulwark/ratelimit';
import type { Logger } from '@bulwark/service-kit';
import type { TokenVerifier } from '@bulwark/service-kit/service-auth';
import type { ChatConfig } from '../config.ts';
import type { ChatMetrics } from '../metrics.ts';
import { blockedByEach } from '../store/chat-store.ts';
import { authenticate, authorizationOf, sessionLive, ConnectionRefused, refusalOf } from './authenticate.ts';
import { ChatConnection } from './connection.ts';
import type { Presence } from './presence.ts';
import { CLOSE } from './protocol.ts';
import { userKey, type RoomBus } from './room-bus.ts';
import { batchByTenant, type TenantBatch } from './tenant-batch.ts';

export const WS_PATH = '/v1/chat/ws';

/** A socket's connection: listeners are shared functions that find it here (closures per socket cost memory at 10,000 sockets). */
const CONNECTION = Symbol('chat connection');
type Tagged = WebSocket & { [CONNECTION]?: ChatConnection };

function onMessage(this: Tagged, data: RawData, isBinary: boolean): void {
  this[CONNECTION]?.onFrame(data as Buffer, isBinary);
}

function onPong(this: Tagged): void {
  const connection = this[CONNECTION];
  if (connection) connection.alive = true;
}

export interface Realtime {
  readonly config: ChatConfig;
  readonly pool: DbPool;
  readonly bus: RoomBus;
  readonly presence: Presence;
  readonly verifier: TokenVerifier;
  readonly metrics: ChatMetrics;
  readonly log: Logger;
  /** Takes one token of the connection's frame bucket. */
  allowFrame(connectionId: string): boolean;
  /** The user's blocked list, batched with the other connections opening now. */
  blockedOf: TenantBatch<string[]>;
}

/** Serves the chat's WebSocket on `server`; returns the drain hook (closes every connection 1001). */
export function attachRealtime(server: Server, rt: Omit<Realtime, 'allowFrame' | 'blockedOf'>): () => Promise<void> {
  const { config, metrics, log } = rt;
  // No client tracking: `connections` is the one set of sockets (and the drain closes them).
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.WS_MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });
  const limiter = new LocalLimiter(200_000);
  const windowMs = (config.WS_RATE_BURST * 1000) / config.WS_RATE_LIMIT;
  const realtime: Realtime = {
    ...rt,
    allowFrame: (id) => limiter.check([{ key: id, algorithm: 'token-bucket', limit: config.WS_RATE_BURST, windowMs }], 1, Date.now()).allowed,
    blockedOf: batchByTenant(rt.pool, blockedByEach, []),
  };
  const connections = new Set<ChatConnection>();
  rt.bus.onResync(() => {
    for (const c of connections) c.resync();
  });
  /** The connections of each user (userKey): one, or a set for several devices. */
  const byUser = new Map<string, ChatConnection | Set<ChatConnection>>();
  const userEvents = rt.bus.routeUserEvents((key, e) => {
    const found = byUser.get(key);
    if (found instanceof Set) for (const c of found) c.onUserEvent(e);
    else found?.onUserEvent(e);
  });
  const addUser = (c: ChatConnection) => {
    const key = userKey(c.tenant, c.user);
    const found = byUser.get(key);
    if (!found) byUser.set(key, c);
    else if (found instanceof Set) found.add(c);
    else byUser.set(key, new Set([found, c]));
  };
  const removeUser = (c: ChatConnection) => {
    const key = userKey(c.tenant, c.user);
    const found = byUser.get(key);
    if (found === c) byUser.delete(key);
    else if (found instanceof Set) {
      found.delete(c);
      if (found.size === 1) byUser.set(key, found.values().next().value!);
    }
  };
  const onSocketError = (err: Error) => log.debug({ err }, 'chat socket error');
  function onClose(this: Tagged): void {
    const connection = this[CONNECTION];
    if (!connection) return;
    connections.delete(connection);
    removeUser(connection);
    metrics.connections.dec();
    void connection.dispose();
  }

  const refuse = (ws: WebSocket, refusal: ConnectionRefused) => {
    metrics.refused.inc({ code: String(refusal.code) });
    ws.resume();
    ws.close(refusal.code, refusal.message);
  };

  async function accept(ws: WebSocket, req: IncomingMessage, url: URL): Promise<void> {
    const header = req.headers['x-auth-tenant'];
    const tenant = url.searchParams.get('tenant') ?? (typeof header === 'string' && header !== '' ? header : undefined);
    let auth;
    try {
      auth = await authenticate(rt.verifier, authorizationOf(req.headers, url), tenant);
      if (config.IDENTITY_URL && !(await sessionLive(config.IDENTITY_URL, auth.authorization))) throw new ConnectionRefused(CLOSE.SESSION_REVOKED, 'session revoked');
    } catch (err) {
      return refuse(ws, refusalOf(err));
    }
    await userEvents;
    if (ws.readyState !== ws.OPEN) return;
    const connection = new ChatConnection(realtime, ws, auth);
    (ws as Tagged)[CONNECTION] = connection;
    connections.add(connection);
    addUser(connection);
    metrics.connections.inc();
    ws.on('close', onClose);
    // The socket is paused: no frame reaches onMessage before open() resumes it.
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    await connection.open();
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://chat');
    if (url.pathname !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Frames a client sends right after the handshake wait until the connection is authenticated and listening.
      ws.pause();
      // A shared handler: a closure here would keep the upgrade request (headers, token) for the connection's life.
      ws.on('error', onSocketError);
      accept(ws, req, url).catch((err: unknown) => {
        log.error({ err }, 'chat connection setup failed');
        ws.close(1011, 'setup failed');
      });
    });
  });

  const pinger = setInterval(() => {
    for (const c of connections) c.ping();
  }, config.WS_PING_INTERVAL_MS);
  pinger.unref();
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const c of connections) c.tick(now);
    },
    Math.min(1_000, config.SESSION_CHECK_INTERVAL_MS),
  );
  sweeper.unref();

  return async () => {
    clearInterval(pinger);
    clearInterval(sweeper);
    for (const c of connections) c.close(1001, 'instance going away');
    await Promise.all([...connections].map((c) => c.dispose()));
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}
