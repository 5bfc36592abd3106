/**
 * Dependencies a service needs to serve traffic (database pool, Redis, Kafka
 * producer...). Readiness asks each one, in parallel and within a deadline;
 * shutdown closes them in reverse order of registration.
 */
import type { Logger } from 'pino';

export interface Dependency {
  /** Short stable name, shown in /readyz and logs. */
  name: string;
  /** Resolves when the dependency can serve; should honour `signal` (aborted at the readiness deadline). */
  check(signal: AbortSignal): Promise<void>;
  /** Releases the dependency at shutdown. */
  close?(): Promise<void>;
  /**
   * false: a failing check is reported by /readyz under `degraded` but does
   * not make the service unready (a part of the service is down, the rest
   * serves: an email provider behind a webhook API). Default true.
   */
  gatesReadiness?: boolean;
}

export interface FailedCheck {
  name: string;
  reason: 'timeout' | 'failed';
  error?: unknown;
}

/** Runs every check concurrently; a check that has not settled by `timeoutMs` counts as timed out. */
export async function checkDependencies(dependencies: readonly Dependency[], timeoutMs: number): Promise<FailedCheck[]> {
  if (dependencies.length === 0) return [];
  const controller = new AbortController();
  let onTimeout!: () => void;
  const deadline = new Promise<'timeout'>((resolve) => (onTimeout = () => resolve('timeout')));
  const timer = setTimeout(() => {
    onTimeout();
    controller.abort(new Error(`readiness deadline of ${timeoutMs} ms passed`));
  }, timeoutMs);
  try {
    const results = await Promise.all(
      dependencies.map(async (dependency): Promise<FailedCheck | undefined> => {
        try {
          const outcome = await Promise.race([dependency.check(controller.signal).then(() => 'ok' as const), deadline]);
          return outcome === 'ok' ? undefined : { name: dependency.name, reason: 'timeout' };
        } catch (error) {
          return { name: dependency.name, reason: controller.signal.aborted ? 'timeout' : 'failed', error };
        }
      }),
    );
    return results.filter((r): r is FailedCheck => r !== undefined);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes in reverse order; one failing close is logged and does not stop the others. */
export async function closeDependencies(dependencies: readonly Dependency[], log: Logger): Promise<void> {
  for (const dependency of [...dependencies].reverse()) {
    if (!dependency.close) continue;
    try {
      await dependency.close();
      log.info({ dependency: dependency.name }, 'dependency closed');
    } catch (err) {
      log.error({ err, dependency: dependency.name }, 'dependency failed to close');
    }
  }
}
