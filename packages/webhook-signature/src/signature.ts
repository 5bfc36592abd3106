/**
 * Webhook signatures: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
 * one `v1` per active secret. Signing over the timestamp makes a captured
 * request useless once it is older than the receiver's tolerance; several
 * `v1` values let a sender rotate secrets (add the new one, let receivers
 * deploy it, drop the old) without a window in which deliveries fail.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'bulwark-signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type Body = string | Uint8Array;

export interface VerifySuccess {
  ok: true;
  /** The signed timestamp (unix seconds); receivers may also dedupe on it plus an event id. */
  timestamp: number;
}
export interface VerifyFailure {
  ok: false;
  reason: 'missing' | 'malformed' | 'stale' | 'future' | 'mismatch';
}
export type VerifyResult = VerifySuccess | VerifyFailure;

export interface VerifyOptions {
  /** Maximum age (and future skew) of the signed timestamp; default 300 s. */
  toleranceSeconds?: number;
  /** The receiver's clock, unix seconds; defaults to now. */
  nowSeconds?: number;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function digest(secret: string, timestamp: number, body: Body): Buffer {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestamp}.`);
  hmac.update(body);
  return hmac.digest();
}

/** Signs `body` with every active secret; throws on no secrets (a sender must never send unsigned). */
export function signatureHeader(body: Body, secrets: readonly string[], timestampSeconds: number = nowSeconds()): string {
  if (secrets.length === 0) throw new Error('signatureHeader needs at least one active secret');
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) throw new Error('timestampSeconds must be a non-negative integer');
  const parts = [`t=${timestampSeconds}`];
  for (const secret of secrets) {
    if (secret.length === 0) throw new Error('an empty webhook secret is not a secret');
    parts.push(`v1=${digest(secret, timestampSeconds, body).toString('hex')}`);
  }
  return parts.join(',');
}

interface ParsedHeader {
  timestamp: number;
  signatures: Buffer[];
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** Parses `t=…,v1=…[,v1=…]`; unknown schemes (v0, v2) are ignored so senders can add them later. */
export function parseSignatureHeader(header: string): ParsedHeader | undefined {
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!HEX_SHA256.test(value)) return undefined;
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

/**
 * Verifies a signature header against the raw body. Any `v1` matching any
 * active secret passes; comparisons are constant-time. The timestamp check
 * comes first so a replayed request is reported as `stale` even when its
 * signature is genuine.
 */
export function verifySignature(header: string | undefined, body: Body, secrets: readonly string[], options: VerifyOptions = {}): VerifyResult {
  if (header === undefined || header === '') return { ok: false, reason: 'missing' };
  const parsed = parseSignatureHeader(header);
  if (!parsed) return { ok: false, reason: 'malformed' };
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.nowSeconds ?? nowSeconds();
  if (parsed.timestamp < now - tolerance) return { ok: false, reason: 'stale' };
  if (parsed.timestamp > now + tolerance) return { ok: false, reason: 'future' };
  let matched = false;
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    const expected = digest(secret, parsed.timestamp, body);
    // No early exit: the time taken does not depend on which secret or signature matched.
    for (const candidate of parsed.signatures) {
      if (timingSafeEqual(expected, candidate)) matched = true;
    }
  }
  return matched ? { ok: true, timestamp: parsed.timestamp } : { ok: false, reason: 'mismatch' };
}
