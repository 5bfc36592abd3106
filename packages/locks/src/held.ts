/**
 * What both lock kinds do around a caller's work: run it under a lease and
 * release the lease however the work ends; a release that finds the lock
 * already gone (the session ended, the lease ran out) turns a successful run
 * into LockLostError, since its writes may have raced another holder's.
 */
import { LockLostError } from './errors.ts';

export async function runHolding<L extends { release(): Promise<boolean> }, T>(name: string, lease: L, fn: (lease: L) => Promise<T>, lostReason: string): Promise<T> {
  let result: T;
  try {
    result = await fn(lease);
  } catch (err) {
    await lease.release().catch(() => undefined);
    throw err;
  }
  if (!(await lease.release())) throw new LockLostError(name, lostReason);
  return result;
}
