/**
 * The log's Ed25519 key (node:crypto). For now it lives in a PEM file (dev:
 * under .local/audit, created at first start with its public half beside it)
 * until the platform's secrets management can hand it out; the verifier
 * trusts the public key file, never a key read from the database it checks.
 * The key id is the first 16 hex digits of SHA-256 over the SPKI DER.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface LogSigner {
  readonly keyId: string;
  readonly publicKeyPem: string;
  sign(text: Uint8Array): Buffer;
}

export interface LogVerifierKey {
  readonly keyId: string;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** The public key file written beside a private key file. */
export function publicKeyPath(privateKeyPath: string): string {
  return privateKeyPath.replace(/(\.pem)?$/, '.pub.pem');
}

/** Loads the private key from `path`; with `create`, makes one (mode 0600) and its public half when the file is missing. */
export function loadSigner(path: string, options: { create: boolean }): LogSigner {
  if (!existsSync(path)) {
    if (!options.create) throw new Error(`audit signing key ${path} does not exist`);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    mkdirSync(dirname(path), { recursive: true });
    try {
      writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      writeFileSync(publicKeyPath(path), publicKey.export({ type: 'spki', format: 'pem' }));
    } catch (err) {
      // Another process made it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return signerFromPem(readFileSync(path, 'utf8'), path);
}

/** A signer from PEM text (a key handed over in the environment, e.g. from a Kubernetes Secret). */
export function signerFromPem(pem: string, name = 'AUDIT_SIGNING_KEY_PEM'): LogSigner {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`audit signing key ${name} is ${privateKey.asymmetricKeyType}, not ed25519`);
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { keyId: keyIdOf(publicKey), publicKeyPem, sign: (text) => sign(null, text, privateKey) };
}

export function verifierKey(publicKeyPem: string): LogVerifierKey {
  const publicKey = createPublicKey(publicKeyPem);
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`audit public key is ${publicKey.asymmetricKeyType}, not ed25519`);
  return { keyId: keyIdOf(publicKey), verify: (text, signature) => verify(null, text, publicKey, signature) };
}
