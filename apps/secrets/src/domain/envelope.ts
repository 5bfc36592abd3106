/**
 * Envelope encryption, pure: each secret version is encrypted with its own
 * random AES-256-GCM data key; the data key is stored wrapped (AES-256-GCM
 * again) by a versioned key-encryption key (KEK) from the key ring. Both
 * layers bind the version's identity (tenant, name, version) as additional
 * authenticated data, so a ciphertext or wrapped key copied onto another row
 * fails to open. Rotating the KEK re-wraps data keys (32 bytes each) and
 * never touches the values. docs/DECISIONS.md, "Secrets".
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** The KEKs by version and the one new data keys are wrapped with. */
export interface KeyRing {
  readonly active: number;
  readonly keys: ReadonlyMap<number, Buffer>;
}

/** Which secret version a ciphertext belongs to (bound as AAD). */
export interface SecretIdentity {
  tenant: string;
  name: string;
  version: number;
}

/** What is stored for one version: the value under its data key, the data key under a KEK. */
export interface SealedValue {
  /** nonce ‖ ciphertext ‖ tag of the value. */
  ciphertext: Buffer;
  /** nonce ‖ wrapped data key ‖ tag. */
  wrappedKey: Buffer;
  kekVersion: number;
}

export class KeyRingError extends Error {
  override name = 'KeyRingError';
}

function aad(id: SecretIdentity, layer: 'value' | `kek:${number}`): Buffer {
  return Buffer.from(`bulwark-secrets:v1\n${layer}\n${id.tenant}\n${id.name}\n${id.version}`, 'utf8');
}

function seal(key: Buffer, plaintext: Buffer, additional: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(additional);
  return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, sealed: Buffer, additional: Buffer): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new KeyRingError('sealed data too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(additional);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}

function kek(ring: KeyRing, version: number): Buffer {
  const key = ring.keys.get(version);
  if (!key) throw new KeyRingError(`KEK version ${version} is not in the key ring`);
  return key;
}

/** Encrypts a new version's value under a fresh data key wrapped by the active KEK. */
export function sealValue(ring: KeyRing, id: SecretIdentity, value: Buffer): SealedValue {
  const dataKey = randomBytes(KEY_BYTES);
  try {
    return {
      ciphertext: seal(dataKey, value, aad(id, 'value')),
      wrappedKey: seal(kek(ring, ring.active), dataKey, aad(id, `kek:${ring.active}`)),
      kekVersion: ring.active,
    };
  } finally {
    dataKey.fill(0);
  }
}

/** Decrypts a stored version; throws when any byte, the row's identity or the KEK does not match. */
export function openValue(ring: KeyRing, id: SecretIdentity, sealed: SealedValue): Buffer {
  const dataKey = open(kek(ring, sealed.kekVersion), sealed.wrappedKey, aad(id, `kek:${sealed.kekVersion}`));
  try {
    return open(dataKey, sealed.ciphertext, aad(id, 'value'));
  } finally {
    dataKey.fill(0);
  }
}

/** The data key re-wrapped under the active KEK; the value's ciphertext is untouched. */
export function rewrapKey(ring: KeyRing, id: SecretIdentity, wrappedKey: Buffer, kekVersion: number): { wrappedKey: Buffer; kekVersion: number } {
  const dataKey = open(kek(ring, kekVersion), wrappedKey, aad(id, `kek:${kekVersion}`));
  try {
    return { wrappedKey: seal(kek(ring, ring.active), dataKey, aad(id, `kek:${ring.active}`)), kekVersion: ring.active };
  } finally {
    dataKey.fill(0);
  }
}

/** Parses a key ring file's text: {"active": n, "keys": {"<n>": "<base64 of 32 bytes>"}}. */
export function parseKeyRing(text: string): KeyRing {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new KeyRingError('key ring is not JSON');
  }
  const { active, keys } = (raw ?? {}) as { active?: unknown; keys?: unknown };
  if (typeof active !== 'number' || !Number.isInteger(active) || active < 1) throw new KeyRingError('key ring "active" must be a positive integer');
  if (typeof keys !== 'object' || keys === null) throw new KeyRingError('key ring "keys" must be an object');
  const map = new Map<number, Buffer>();
  for (const [v, b64] of Object.entries(keys)) {
    const version = Number(v);
    if (!/^[1-9][0-9]*$/.test(v)) throw new KeyRingError(`key ring version ${JSON.stringify(v)} is not a positive integer`);
    const key = typeof b64 === 'string' ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (key.length !== KEY_BYTES) throw new KeyRingError(`KEK version ${v} is not 32 bytes of base64`);
    map.set(version, key);
  }
  if (!map.has(active)) throw new KeyRingError(`the active KEK version ${active} is not in the key ring`);
  return { active, keys: map };
}

/** A key ring's file text; `generateKek()` makes a new key. */
export function formatKeyRing(ring: KeyRing): string {
  return `${JSON.stringify({ active: ring.active, keys: Object.fromEntries([...ring.keys].map(([v, k]) => [String(v), k.toString('base64')])) }, null, 2)}\n`;
}

export function generateKek(): Buffer {
  return randomBytes(KEY_BYTES);
}
