/**
 * Opaque tokens handed to clients (refresh, verification, reset): 256 random
 * bits, base64url. Only their SHA-256 is stored; with that much entropy a
 * fast hash is enough (nothing to brute-force), and lookups stay one index probe.
 */
import { createHash, randomBytes } from 'node:crypto';

export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Lower-cased NFC, trimmed: the form emails are stored and compared in. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}
