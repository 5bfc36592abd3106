/**
 * graphql-ws beside Apollo Gateway on the same port and path: a WebSocket
 * upgrade of GET /graphql is served by graphql-ws over the subscription
 * schema; POST /graphql stays the gateway's. The subscriber is the one the
 * HTTP gateway verified (x-auth-* on the upgrade request, stripped from
 * clients there); a connection without x-auth-sub is closed 4403. When the
 * kit drains (its onDrain hook), open sockets are closed 1001 so clients
 * reconnect elsewhere with their cursor.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { Gauge, type Registry } from 'prom-client';
import { FORWARDED_HEADERS } from '../gateway.ts';
import type { SubscriptionContext } from './order-status-subscription.ts';

function contextOf(req: IncomingMessage): SubscriptionContext {
  const forward: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string' && value) forward[name] = value;
  }
  return { forward, tenant: forward['x-auth-tenant'] };
}

/** Serves subscriptions on `path` of `server`; returns a function closing every socket (1001). */
export function attachSubscriptions(server: Server, options: { path: string; schema: GraphQLSchema; registry: Registry }): () => Promise<void> {
  const wss = new WebSocketServer({ noServer: true });
  const open = new Gauge({ name: 'graphql_subscription_connections', help: 'Open graphql-ws connections on this instance.', registers: [options.registry] });
  open.set(0);
  wss.on('connection', (socket) => {
    open.inc();
    socket.once('close', () => open.dec());
  });
  useServer<Record<string, unknown>, { request: IncomingMessage }>(
    {
      schema: options.schema,
      onConnect: (ctx) => (contextOf(ctx.extra.request).forward['x-auth-sub'] ? true : false),
      context: (ctx) => contextOf(ctx.extra.request) as never,
    },
    wss,
  );
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== options.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  return async () => {
    for (const client of wss.clients) client.close(1001, 'instance going away');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}
