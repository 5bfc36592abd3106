/**
 * Lock names to PostgreSQL advisory keys: the first 8 bytes of SHA-256 of the
 * name as a signed 64-bit integer. `hashtext` (what the services use today)
 * is 32 bits, where two names collide after ~77,000 names with 50% odds; 64
 * bits push that to ~5·10⁹.
 */
import { createHash } from 'node:crypto';
import { LockConfigError } from './errors.ts';

/** The advisory key of `name`, as the decimal string pg sends for a bigint. */
export function advisoryKey(name: string): string {
  assertLockName(name);
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/** Names are non-empty, at most 200 characters, printable. */
export function assertLockName(name: string): void {
  if (name.length === 0 || name.length > 200 || [...name].some((c) => c.charCodeAt(0) < 0x20)) {
    throw new LockConfigError(`lock name must be 1–200 printable characters, got ${JSON.stringify(name.slice(0, 40))}`);
  }
}
