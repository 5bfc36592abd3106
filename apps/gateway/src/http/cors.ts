/**
 * CORS and security headers from the routes file. Preflights are answered
 * here (204, or 403 for an origin that is not configured) and never reach an
 * upstream; simple requests from allowed origins get the response headers.
 */
import type { RequestHandler } from 'express';
import { gatewayError } from '../errors.ts';
import type { CorsConfig } from '../domain/routes-file.ts';

export function securityHeaders(headers: Readonly<Record<string, string>>): RequestHandler {
  const entries = Object.entries(headers);
  return function setSecurityHeaders(_req, res, next) {
    for (const [name, value] of entries) res.setHeader(name, value);
    next();
  };
}

export function cors(config: CorsConfig): RequestHandler {
  const any = config.allowedOrigins.includes('*') && !config.allowCredentials;
  const origins = new Set(config.allowedOrigins.map((o) => (o === '*' ? o : new URL(o).origin)));
  const methods = config.allowedMethods.join(', ');
  const allowHeaders = config.allowedHeaders.join(', ');
  const expose = config.exposedHeaders.join(', ');
  return function applyCors(req, res, next) {
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    const allowed = any || origins.has(origin);
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    res.vary('origin');
    if (!allowed) {
      if (preflight) return next(gatewayError('CORS_ORIGIN_REFUSED', `origin ${origin} is not allowed`));
      return next(); // no CORS headers: the browser withholds the response
    }
    res.setHeader('access-control-allow-origin', any ? '*' : origin);
    if (config.allowCredentials) res.setHeader('access-control-allow-credentials', 'true');
    if (preflight) {
      res.setHeader('access-control-allow-methods', methods);
      res.setHeader('access-control-allow-headers', allowHeaders);
      res.setHeader('access-control-max-age', String(config.maxAgeSeconds));
      res.status(204).end();
      return;
    }
    if (expose) res.setHeader('access-control-expose-headers', expose);
    next();
  };
}
