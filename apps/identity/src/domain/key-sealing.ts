/**
 * Sealing of private signing keys at rest: AES-256-GCM under
 * KEY_ENCRYPTION_KEY, the kid as additional data (a sealed key moved to
 * another row does not open). Layout: version (1) | iv (12) | tag (16) | ciphertext.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 1;

export interface Sealer {
  /** First 16 hex digits of SHA-256 of the key: names the key without revealing it. */
  readonly fingerprint: string;
  seal(plaintext: string, kid: string): Buffer;
  open(sealed: Buffer, kid: string): string;
}

export function createSealer(hexKey: string): Sealer {
  const key = Buffer.from(hexKey, 'hex');
  if (key.length !== 32) throw new Error('KEY_ENCRYPTION_KEY must be 32 bytes (64 hex characters)');
  const fingerprint = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return {
    fingerprint,
    seal(plaintext, kid) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(kid));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
    },
    open(sealed, kid) {
      if (sealed[0] !== VERSION || sealed.length < 29) throw new Error(`sealed key ${kid} has an unknown layout`);
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
      decipher.setAAD(Buffer.from(kid));
      decipher.setAuthTag(sealed.subarray(13, 29));
      return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString('utf8');
    },
  };
}
