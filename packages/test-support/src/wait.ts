/** Polling instead of sleeping: a test waits for a state, never for a duration. */

/**
 * Polls until `predicate` holds. The deadline only bounds a hang (it asserts
 * nothing about speed): past it, fails naming `what`. An error thrown by the
 * predicate ends the wait with that error.
 */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, deadlineMs = 30_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Polls `read` until `done` holds for its value, and returns that value. Like waitFor, the deadline only
 * bounds a hang; past it, fails naming `what` and the last value read. An error thrown by `read` or
 * `done` ends the wait with that error.
 */
export async function eventually<T>(what: string, read: () => T | Promise<T>, done: (value: T) => boolean, deadlineMs = 30_000, intervalMs = 25): Promise<T> {
  let last: T | undefined;
  const failed: { error?: unknown } = {};
  const check = async (): Promise<boolean> => {
    try {
      return done((last = await read()));
    } catch (error) {
      failed.error = error;
      return true;
    }
  };
  await waitFor(check, what, deadlineMs, intervalMs).catch((err: unknown) => {
    throw new Error(`${what}: still ${JSON.stringify(last)} after ${deadlineMs} ms`, { cause: err });
  });
  if ('error' in failed) throw failed.error;
  return last as T;
}
