/**
 * Password hashing: argon2id through @node-rs/argon2 (libuv thread pool, so
 * the event loop stays free). Parameters come from config and are recorded
 * in docs/DECISIONS.md; a hash made with other parameters is upgraded at the
 * next successful login. Unknown accounts are checked against a dummy hash of
 * the same cost, so a login takes as long whether the account exists or not.
 */
import { randomBytes } from 'node:crypto';
import { hash, parseOptions, verify, type Algorithm, type Options } from '@node-rs/argon2';

/** `Algorithm.Argon2id` (a const enum in the typings; its value is stable). */
const ARGON2ID = 2 as Algorithm;

export interface Argon2Params {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
}

export interface PasswordHasher {
  readonly params: Argon2Params;
  hash(password: string): Promise<string>;
  verify(passwordHash: string, password: string): Promise<boolean>;
  /** Spends the time of a verify without an account (unknown email, unknown tenant). */
  verifyNothing(password: string): Promise<void>;
  /** Whether the hash was made with other parameters than the configured ones. */
  needsRehash(passwordHash: string): boolean;
}

export function createPasswordHasher(params: Argon2Params): PasswordHasher {
  const options: Options = { algorithm: ARGON2ID, memoryCost: params.memoryKib, timeCost: params.timeCost, parallelism: params.parallelism };
  let dummy: Promise<string> | undefined;
  return {
    params,
    hash: (password) => hash(password.normalize('NFC'), options),
    async verify(passwordHash, password) {
      try {
        return await verify(passwordHash, password.normalize('NFC'));
      } catch {
        return false; // a malformed stored hash never authenticates
      }
    },
    async verifyNothing(password) {
      dummy ??= hash(randomBytes(16).toString('hex'), options);
      await verify(await dummy, password.normalize('NFC')).catch(() => false);
    },
    needsRehash(passwordHash) {
      try {
        const p = parseOptions(passwordHash);
        return p.algorithm !== ARGON2ID || p.memoryCost !== params.memoryKib || p.timeCost !== params.timeCost || p.parallelism !== params.parallelism;
      } catch {
        return true;
      }
    },
  };
}
