/**
 * The arithmetic of Redlock, kept apart from I/O: how many instances make a
 * majority, how long a lease stays valid on the local clock, and which
 * fencing token a grant on several instances yields.
 */

/** The smallest majority of `instances`. */
export function quorum(instances: number): number {
  return Math.floor(instances / 2) + 1;
}

/**
 * How long the lease can be trusted, in ms, counted from the moment the
 * acquisition was sent (`elapsedMs` before now): the TTL less the time the
 * round took and less the clock drift Redis may have (1% of the TTL + 2 ms,
 * as in the Redlock description). Zero or less means the grant is useless.
 */
export function validityMs(ttlMs: number, elapsedMs: number, driftFactor = 0.01): number {
  return ttlMs - elapsedMs - (Math.round(ttlMs * driftFactor) + 2);
}

/**
 * The fencing token of a grant: the largest counter the granting instances
 * returned, and whether some granting instance is behind it (then the token
 * must be written back to them before the lock counts as held, see
 * redlock.ts).
 */
export function fenceOf(counters: readonly number[]): { token: number; needsConfirm: boolean } {
  if (counters.length === 0) throw new Error('fenceOf needs at least one counter');
  const token = Math.max(...counters);
  return { token, needsConfirm: counters.some((c) => c !== token) };
}
