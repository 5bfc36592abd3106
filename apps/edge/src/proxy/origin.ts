/**
 * The edge's one client to the origin: an undici Pool of keep-alive
 * connections, the headers a proxy forwards (hop-by-hop fields dropped,
 * X-Forwarded-* added), and errors mapped to the edge's codes.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { edgeError } from '../errors.ts';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);

export interface OriginResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData['body'];
}

export interface Origin {
  request(options: { method: string; path: string; headers: Record<string, string | string[]>; body?: IncomingMessage }): Promise<OriginResponse>;
  close(): Promise<void>;
}

export function createOrigin(options: { url: string; connections: number; timeoutMs: number }): Origin {
  const pool = new Pool(options.url, { connections: options.connections, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs, keepAliveTimeout: 30_000 });
  return {
    async request({ method, path, headers, body }) {
      try {
        const res = await pool.request({ method: method as Dispatcher.HttpMethod, path, headers, ...(body ? { body } : {}) });
        return { status: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: res.body };
      } catch (err) {
        throw originError(err);
      }
    },
    close: () => pool.close(),
  };
}

/** The origin's failure as the edge's problem (504 for a timeout, 502 otherwise). */
export function originError(err: unknown): Error {
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) return edgeError('EDGE_ORIGIN_TIMEOUT', 'the origin did not answer in time', { cause: err });
  return edgeError('EDGE_ORIGIN_UNAVAILABLE', 'the origin could not be reached', { cause: err });
}

/**
 * The client's header fields as the origin should see them: hop-by-hop
 * fields (and those the Connection header names) dropped, X-Forwarded-For,
 * -Host and -Proto added; `overrides` replace or (undefined) remove fields.
 */
export function forwardHeaders(req: IncomingMessage, overrides: Record<string, string | undefined> = {}): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = req.headers.connection ? new Set(req.headers.connection.toLowerCase().split(',').map((s) => s.trim())) : undefined;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = value;
  }
  const peer = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${peer}` : peer;
  if (req.headers.host) out['x-forwarded-host'] = req.headers.host;
  out['x-forwarded-proto'] ??= 'http';
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out;
}

/** The origin's response fields a client may see: hop-by-hop dropped. */
export function responseHeadersForClient(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = typeof headers.connection === 'string' ? new Set(headers.connection.toLowerCase().split(',').map((s) => s.trim())) : undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name) || name === 'surrogate-key' || name === 'x-request-id' || name === 'traceparent') continue;
    out[name] = value;
  }
  return out;
}
