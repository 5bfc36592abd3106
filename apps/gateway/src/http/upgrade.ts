/**
 * WebSocket (and any HTTP/1.1 Upgrade) pass-through on the server's 'upgrade'
 * event: the same route resolution, authentication and rate limits as the
 * proxy, then a raw TCP connection to the upstream carrying the rewritten
 * handshake, and the two sockets piped together until either side closes.
 * The route must say `"websocket": true`.
 */
import type { IncomingMessage, Server } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { decisionError } from '@bulwark/ratelimit';
import { gatewayError } from '../errors.ts';
import { admit, hitsOf, upstreamHeadersOf, type ProxyDeps } from './proxy.ts';
import { refuseUpgrade } from './refusal.ts';

/** `edgeHeaders`: the security headers (`[name, value, …]`) a refusal carries, as on every response. */
/** Tunnels upgrades on `server`; returns what ends every open tunnel (the drain's hook: they are no HTTP connections). */
export function handleUpgrades(server: Server, deps: ProxyDeps, edgeHeaders: readonly string[]): () => void {
  const open = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    upgrade(deps, req, socket, head).catch((err: unknown) => refuseUpgrade(deps.log, req, socket, err, edgeHeaders));
  });
  return () => {
    for (const socket of open) socket.destroy();
  };
}

async function upgrade(deps: ProxyDeps, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const state = await admit(deps, req);
  if (!state || !state.runtime.route.config.websocket) throw gatewayError('GATEWAY_ROUTE_NOT_FOUND', 'no WebSocket route matches this path');
  if (deps.limiter) {
    const hits = hitsOf(state);
    if (hits.length > 0) {
      const decision = await deps.limiter.check(hits);
      if (!decision.allowed) throw decisionError(decision);
    }
  }
  const { upstream, timeoutMs } = state.runtime;
  const release = upstream.bulkhead.tryAcquire();
  if (!release) throw gatewayError('BULKHEAD_FULL', `upstream ${upstream.name} is at capacity`, { retryAfterSeconds: upstream.config.bulkhead.retryAfterSeconds });
  const target = new URL(upstream.origin);
  const headers = upstreamHeadersOf(deps, req, state);
  headers.host = target.host;
  headers.connection = 'Upgrade';
  headers.upgrade = req.headers.upgrade ?? 'websocket';
  const lines = [`${req.method} ${upstream.basePath}${state.upstreamPath} HTTP/1.1`];
  for (const [name, value] of Object.entries(headers)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  const upstreamSocket = target.protocol === 'https:' ? tls.connect({ host: target.hostname, port, servername: target.hostname }) : net.connect({ host: target.hostname, port });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(gatewayError('UPSTREAM_TIMEOUT', `upstream ${upstream.name} did not accept within ${timeoutMs} ms`)), timeoutMs);
    upstreamSocket.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      resolve();
    });
    upstreamSocket.once('error', (err) => {
      clearTimeout(timer);
      reject(gatewayError('UPSTREAM_UNAVAILABLE', `upstream ${upstream.name} is unreachable`, { cause: err }));
    });
  }).catch((err: unknown) => {
    upstreamSocket.destroy();
    release();
    throw err;
  });
  upstreamSocket.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (head.length > 0) upstreamSocket.write(head);
  const close = (): void => {
    release();
    socket.destroy();
    upstreamSocket.destroy();
  };
  upstreamSocket.on('error', close).on('close', close);
  socket.on('error', close).on('close', close);
  upstreamSocket.pipe(socket);
  socket.pipe(upstreamSocket);
}
