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
