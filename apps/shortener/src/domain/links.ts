/**
 * The rules of a short link, pure: generated codes, custom aliases, which
 * target URLs are accepted, which referrer is kept, and what a redirect
 * answers. No I/O: the store and the routes call these.
 */
import { randomInt } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A random base-62 code: 62^7 ≈ 3.5 × 10^12 codes, so a collision (retried by the store) is rare until billions of links. */
export function generateCode(length = 7): string {
  let code = '';
  for (let i = 0; i < length; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code;
}

export const ALIAS_PATTERN = /^[A-Za-z0-9_-]{3,32}$/;

/** Paths of our own that an alias must not shadow, compared case-insensitively. */
const RESERVED = new Set(['api', 'v1', 'v2', 'admin', 'healthz', 'readyz', 'metrics', 'openapi', 'openapi.json', 'links', 'r', 'static', 'login', 'logout']);

export type AliasProblem = 'pattern' | 'reserved';

export function aliasProblem(alias: string): AliasProblem | undefined {
  if (!ALIAS_PATTERN.test(alias)) return 'pattern';
  if (RESERVED.has(alias.toLowerCase())) return 'reserved';
  return undefined;
}

export const MAX_URL_LENGTH = 2048;

export type TargetProblem = 'too-long' | 'not-a-url' | 'scheme' | 'credentials' | 'loop' | 'host';

/**
 * Why a target URL is refused, or undefined when it is accepted: only
 * absolute http(s) URLs with a host, no user:password (a phishing favourite),
 * at most 2,048 characters, and never one of our own short links (a loop:
 * the redirect would lead to itself or another short link forever).
 */
export function targetProblem(raw: string, ownBases: readonly string[]): TargetProblem | undefined {
  if (raw.length > MAX_URL_LENGTH) return 'too-long';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not-a-url';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'scheme';
  if (url.username !== '' || url.password !== '') return 'credentials';
  if (url.hostname === '') return 'host';
  for (const base of ownBases) {
    const own = new URL(base);
    const ownPath = own.pathname.endsWith('/') ? own.pathname : `${own.pathname}/`;
    if (url.host.toLowerCase() === own.host.toLowerCase() && `${url.pathname}/`.startsWith(ownPath)) return 'loop';
  }
  return undefined;
}

/** The referrer kept for analytics: its origin only ('' when absent or not a URL), since paths and queries may carry personal data. */
export function referrerOrigin(referer: string | undefined): string {
  if (!referer) return '';
  try {
    const url = new URL(referer);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : '';
  } catch {
    return '';
  }
}

export interface RedirectTarget {
  targetUrl: string;
  redirectStatus: 301 | 302;
  expiresAt: Date | null;
}

export type RedirectAnswer = { kind: 'redirect'; status: 301 | 302; location: string; cacheControl: string } | { kind: 'expired' };

/**
 * What GET /r/:code answers for a link at `now`. A permanent link may be
 * kept by browsers and shared caches for a day (clicks served from a cache
 * are not counted: the price of 301); a temporary one must come back to us
 * every time (`private, no-cache` would still let a browser reuse it, so
 * `no-store`). A link that expires caps the permanent max-age at its expiry.
 */
export function redirectAnswer(link: RedirectTarget, now: Date, permanentMaxAgeSeconds = 86_400): RedirectAnswer {
  if (link.expiresAt !== null && link.expiresAt.getTime() <= now.getTime()) return { kind: 'expired' };
  if (link.redirectStatus === 302) return { kind: 'redirect', status: 302, location: link.targetUrl, cacheControl: 'no-store' };
  const untilExpiry = link.expiresAt === null ? permanentMaxAgeSeconds : Math.floor((link.expiresAt.getTime() - now.getTime()) / 1000);
  return { kind: 'redirect', status: 301, location: link.targetUrl, cacheControl: `public, max-age=${Math.max(0, Math.min(permanentMaxAgeSeconds, untilExpiry))}` };
}
