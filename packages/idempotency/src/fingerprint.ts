/**
 * Pure parts of the request identity: the Idempotency-Key header (an
 * RFC 8941 sf-string in the IETF httpapi draft; bare tokens are accepted
 * too, as most clients send them) and the request fingerprint, a SHA-256 of
 * method, path and a canonical form of the JSON body so that key order and
 * whitespace do not make a retry look like another request.
 */
import { createHash } from 'node:crypto';

const KEY = /^[\x20-\x7e]{1,255}$/;

export type ParsedKey = { ok: true; key: string } | { ok: false; reason: 'missing' | 'invalid' };

/** Reads the header value: `"abc"` (sf-string) or `abc`; 1-255 visible ASCII characters. */
export function parseIdempotencyKey(header: string | undefined): ParsedKey {
  if (header === undefined) return { ok: false, reason: 'missing' };
  let value = header.trim();
  if (value.length === 0) return { ok: false, reason: 'missing' };
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1);
    if (/(?<!\\)"/.test(value)) return { ok: false, reason: 'invalid' };
    value = value.replace(/\\(["\\])/g, '$1');
  }
  if (!KEY.test(value) || value.trim() !== value) return { ok: false, reason: 'invalid' };
  return { ok: true, key: value };
}

/**
 * JSON with object keys sorted (recursively) and no insignificant
 * whitespace, in the spirit of RFC 8785 (JCS); numbers use JavaScript's
 * shortest round-trip form, as JCS does. `undefined` members are dropped, as
 * JSON.stringify drops them.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (Buffer.isBuffer(value)) return JSON.stringify(value.toString('base64'));
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256 hex of `METHOD path\n canonical-body`; an absent body hashes as empty. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  const canonical = body === undefined ? '' : Buffer.isBuffer(body) ? body.toString('base64') : canonicalJson(body);
  return createHash('sha256').update(`${method.toUpperCase()} ${path}\n${canonical}`).digest('hex');
}

/**
 * A signed 64-bit advisory-lock key (as a decimal string) for one (scope, tenant, key). Without a
 * tenant ('') it is the hash keys had before they were per tenant, so replicas of both versions
 * lock such a key alike during a rollout.
 */
export function lockKeyOf(scope: string, key: string, tenant = ''): string {
  const name = tenant === '' ? `${scope}\u0000${key}` : `${scope}\u0000${tenant}\u0000${key}`;
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}
