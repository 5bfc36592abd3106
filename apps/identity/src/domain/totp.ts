/**
 * TOTP (RFC 6238) on otpauth: 160-bit secrets, SHA-1, 6 digits, 30-second
 * steps, one step of tolerance either side (what authenticator apps
 * implement). `acceptCode` returns the time step a code belongs to, so the
 * store can accept each step once (a code is not replayable). Recovery codes:
 * 80 random bits as 16 base32 characters, shown once in groups of four.
 */
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_SECONDS = 30;
const DIGITS = 6;
const WINDOW = 1;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secretBase32: string, label = 'account', issuer = 'Bulwark'): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: DIGITS, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secretBase32) });
}

/** The otpauth:// URI an authenticator app reads (usually from a QR code). */
export function totpUri(secretBase32: string, label: string, issuer: string): string {
  return totp(secretBase32, label, issuer).toString();
}

/** The current code (tests, and nothing else, need to make one). */
export function totpCode(secretBase32: string, timestampMs = Date.now()): string {
  return totp(secretBase32).generate({ timestamp: timestampMs });
}

/** The time step the code is valid for at `nowMs` (±1 step), or undefined. */
export function acceptCode(secretBase32: string, code: string, nowMs: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = totp(secretBase32).validate({ token: code, timestamp: nowMs, window: WINDOW });
  if (delta === null) return undefined;
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS) + delta;
}

export function newRecoveryCodes(count = 10): string[] {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(10);
    let bits = 0;
    let value = 0;
    let out = '';
    for (const b of bytes) {
      value = (value << 8) | b;
      bits += 8;
      while (bits >= 5) {
        out += BASE32[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
    }
    return out.match(/.{4}/g)!.join('-');
  });
}

/** The form recovery codes are hashed in: upper case, no separators or spaces. */
export function normalizeRecoveryCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '');
}

export const isRecoveryCodeShaped = (input: string): boolean => /^[A-Z2-7]{16}$/.test(normalizeRecoveryCode(input));
