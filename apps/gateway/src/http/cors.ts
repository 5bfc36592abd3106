/**
 * CORS and security headers from the routes file. Preflights are answered
 * here (204, or 403 for an origin that is not configured) and never reach an
 * upstream; simple requests from allowed origins get the response headers.
 * Written on node:http's request and response, so the proxy's raw path (in
 * front of Express) and the Express fallback share them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { AppError } from '@bulwark/errors';
import { gatewayError } from '../errors.ts';
import type { CorsConfig } from '../domain/routes-file.ts';

/** Sets the configured security headers on a response. */
export function securityHeaderSetter(headers: Readonly<Record<string, string>>): (res: ServerResponse) => void {
  const entries = Object.entries(headers);
  return function setSecurityHeaders(res) {
    for (const [name, value] of entries) res.setHeader(name, value);
  };
}

/** The configured security headers as a flat `[name, value, …]` list with lower-case names (for a raw request's responseHeaders). */
export function securityHeaderList(headers: Readonly<Record<string, string>>): readonly string[] {
  return Object.freeze(Object.entries(headers).flatMap(([name, value]) => [name.toLowerCase(), value]));
}

/** The preflight was answered (204); nothing else is to be done. */
export const PREFLIGHT_ANSWERED = true;

/**
 * Applies CORS to a request: undefined to go on, PREFLIGHT_ANSWERED, or the
 * refusal of a preflight from an origin that is not allowed.
 */
export type CorsCheck = (req: IncomingMessage, res: ServerResponse) => undefined | typeof PREFLIGHT_ANSWERED | AppError;

/** Adds `token` to the response's Vary header unless it is already listed (or `*`). */
function appendVary(res: ServerResponse, token: string): void {
  const current = res.getHeader('vary');
  if (current === undefined) {
    res.setHeader('vary', token);
    return;
  }
  const list = Array.isArray(current) ? current.join(',') : String(current);
  const listed = list.split(',').map((t) => t.trim().toLowerCase());
  if (listed.includes('*') || listed.includes(token)) return;
  res.setHeader('vary', `${list}, ${token}`);
}

export function corsCheck(config: CorsConfig): CorsCheck {
  const any = config.allowedOrigins.includes('*') && !config.allowCredentials;
  const origins = new Set(config.allowedOrigins.map((o) => (o === '*' ? o : new URL(o).origin)));
  const methods = config.allowedMethods.join(', ');
  const allowHeaders = config.allowedHeaders.join(', ');
  const expose = config.exposedHeaders.join(', ');
  return function applyCors(req, res) {
    const origin = req.headers.origin;
    if (origin === undefined) return undefined;
    const allowed = any || origins.has(origin);
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    appendVary(res, 'origin');
    if (!allowed) {
      if (preflight) return gatewayError('CORS_ORIGIN_REFUSED', `origin ${origin} is not allowed`);
      return undefined; // no CORS headers: the browser withholds the response
    }
    res.setHeader('access-control-allow-origin', any ? '*' : origin);
    if (config.allowCredentials) res.setHeader('access-control-allow-credentials', 'true');
    if (preflight) {
      res.setHeader('access-control-allow-methods', methods);
      res.setHeader('access-control-allow-headers', allowHeaders);
      res.setHeader('access-control-max-age', String(config.maxAgeSeconds));
      res.statusCode = 204;
      res.end();
      return PREFLIGHT_ANSWERED;
    }
    if (expose) res.setHeader('access-control-expose-headers', expose);
    return undefined;
  };
}

/**
 * Security headers and CORS as one Express handler, for requests that reach
 * the Express fallback (the kit's own paths with another method).
 */
export function edgeHeaders(setSecurityHeaders: (res: ServerResponse) => void, cors: CorsCheck | undefined): RequestHandler {
  return function applyEdgeHeaders(req, res, next) {
    setSecurityHeaders(res);
    const outcome = cors?.(req, res);
    if (outcome === PREFLIGHT_ANSWERED) return;
    next(outcome);
  };
}
