/**
 * Header hygiene between client and upstream: hop-by-hop headers (RFC 9110
 * §7.6.1, plus any named in Connection) never cross the gateway; identity
 * headers (`x-auth-*`) are only ever set by the gateway from a verified token;
 * X-Forwarded-* describe the client as the gateway saw it.
 */
import type { IncomingHttpHeaders } from 'node:http';

const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

export type OutgoingHeaders = Record<string, string | string[]>;

const NO_TOKENS: readonly string[] = Object.freeze([]);

function connectionTokens(value: string | string[] | undefined): readonly string[] {
  // The usual values name no other header: skip the split.
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return NO_TOKENS;
  return (Array.isArray(value) ? value.join(',') : value).split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
}

/** True for names the gateway must not forward in either direction. */
export function isHopByHop(name: string, listed: readonly string[]): boolean {
  return HOP_BY_HOP.has(name) || listed.includes(name);
}

export interface ForwardingContext {
  clientIp: string;
  /** Trusted proxies in front of us; 0 replaces any incoming X-Forwarded-For. */
  trustProxyHops: number;
  proto: string;
  /** Extra headers the gateway sets (tracing, request id, auth claims, version). */
  set: Record<string, string>;
  /** Drop the client's Authorization: the gateway verified it and the route does not forward tokens. */
  dropAuthorization?: boolean;
}

/** The request headers sent upstream. */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, ctx: ForwardingContext): OutgoingHeaders {
  const listed = connectionTokens(incoming.connection);
  const out: OutgoingHeaders = {};
  for (const name in incoming) {
    if (isHopByHop(name, listed) || name === 'host' || name.startsWith('x-auth-') || name === 'forwarded') continue;
    if (name.startsWith('x-forwarded-') && ctx.trustProxyHops === 0) continue;
    if (name === 'authorization' && ctx.dropAuthorization === true) continue;
    const value = incoming[name];
    if (value !== undefined) out[name] = value;
  }
  const priorFor = ctx.trustProxyHops > 0 ? incoming['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = priorFor ? `${Array.isArray(priorFor) ? priorFor.join(', ') : priorFor}, ${ctx.clientIp}` : ctx.clientIp;
  if (ctx.trustProxyHops === 0 || incoming['x-forwarded-proto'] === undefined) out['x-forwarded-proto'] = ctx.proto;
  if ((ctx.trustProxyHops === 0 || incoming['x-forwarded-host'] === undefined) && incoming.host !== undefined) out['x-forwarded-host'] = incoming.host;
  for (const name in ctx.set) out[name] = ctx.set[name]!;
  return out;
}

/** The response headers passed back to the client (hop-by-hop removed). */
export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>): OutgoingHeaders {
  const listed = connectionTokens(upstream.connection);
  const out: OutgoingHeaders = {};
  for (const name in upstream) {
    if (isHopByHop(name, listed)) continue;
    const value = upstream[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * The same as a flat `[name, value, …]` list, the form node's writeHead takes
 * without building a headers object (see service-kit's KitServerResponse).
 */
export function clientResponseHeaderList(upstream: Record<string, string | string[] | undefined>): (string | string[])[] {
  const listed = connectionTokens(upstream.connection);
  const out: (string | string[])[] = [];
  for (const name in upstream) {
    if (isHopByHop(name, listed)) continue;
    const value = upstream[name];
    if (value !== undefined) out.push(name, value);
  }
  return out;
}

/** The client IP as seen through `trustProxyHops` trusted proxies. */
export function clientIpOf(socketIp: string | undefined, xff: string | string[] | undefined, trustProxyHops: number): string {
  const peer = (socketIp ?? '').replace(/^::ffff:/, '') || 'unknown';
  if (trustProxyHops === 0 || xff === undefined) return peer;
  const chain = (Array.isArray(xff) ? xff.join(',') : xff).split(',').map((s) => s.trim()).filter(Boolean);
  // The last `trustProxyHops` entries were added by our proxies; the one before them is the client.
  return chain[chain.length - trustProxyHops] ?? chain[0] ?? peer;
}
