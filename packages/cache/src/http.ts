/**
 * The HTTP side of caching for GETs: a strong ETag over the exact bytes sent,
 * `If-None-Match` answered with 304 (RFC 9110 §13.1.2, weak comparison), and
 * `Cache-Control` that tells shared caches how long to reuse a response and how
 * long they may serve it stale while revalidating or when the origin fails
 * (RFC 5861). The catalog GETs use `sendCached`; `cacheControl` suits routes
 * that send their own bodies.
 */
import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export interface HttpCachePolicy {
  /** max-age, seconds */
  maxAgeSeconds: number;
  staleWhileRevalidateSeconds?: number;
  staleIfErrorSeconds?: number;
  /** `private` for per-user responses; default `public`. */
  scope?: 'public' | 'private';
}

export function cacheControlValue(policy: HttpCachePolicy): string {
  const parts = [policy.scope ?? 'public', `max-age=${Math.max(0, Math.floor(policy.maxAgeSeconds))}`];
  if (policy.staleWhileRevalidateSeconds) parts.push(`stale-while-revalidate=${Math.floor(policy.staleWhileRevalidateSeconds)}`);
  if (policy.staleIfErrorSeconds) parts.push(`stale-if-error=${Math.floor(policy.staleIfErrorSeconds)}`);
  return parts.join(', ');
}

/** A strong validator: the quoted base64url SHA-256 (first 128 bits) of the representation's bytes. */
export function strongEtag(body: string | Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

/** Whether an `If-None-Match` header matches `etag` (`*`, or any listed tag, W/ prefixes ignored). */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return header.split(',').some((t) => opaque(t) === wanted);
}

/**
 * Sends `body` as JSON with a strong ETag and `Cache-Control`, or 304 (no body)
 * when the request's `If-None-Match` already names this representation.
 */
export function sendCached(req: Request, res: Response, body: unknown, policy: HttpCachePolicy): void {
  const bytes = Buffer.from(JSON.stringify(body));
  const etag = strongEtag(bytes);
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', cacheControlValue(policy));
  res.setHeader('Vary', 'Accept-Encoding');
  if ((req.method === 'GET' || req.method === 'HEAD') && ifNoneMatchHits(req.get('if-none-match'), etag)) {
    res.status(304).end();
    return;
  }
  res.status(200).type('application/json').send(bytes);
}

/** Sets `Cache-Control` on GET/HEAD responses of the routes it is mounted on. */
export function cacheControl(policy: HttpCachePolicy): RequestHandler {
  const value = cacheControlValue(policy);
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD') res.setHeader('Cache-Control', value);
    next();
  };
}
