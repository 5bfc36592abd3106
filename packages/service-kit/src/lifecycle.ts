/**
 * Process lifecycle for any long-running process (a service, the operator):
 * on SIGTERM/SIGINT call `stop` once and exit 0 when it resolves, 1 when it
 * rejects or outlives `deadlineMs`; a second signal exits 1 at once. Loads
 * nothing but the logger type, so processes without HTTP use it too
 * (`@bulwark/service-kit/lifecycle`).
 */
import type { Logger } from './logger.ts';

export interface ShutdownOptions {
  /** Flushed before exit: a buffered pino logger (what createLogger returns) is one. */
  log: Pick<Logger, 'info' | 'warn' | 'error'> & { flush(): void };
  /** Stops the process's work in reverse order of starting it. */
  stop: () => Promise<void>;
  signals?: readonly NodeJS.Signals[];
  /** Longest `stop` may take before the process exits 1 anyway; unset waits for `stop`. */
  deadlineMs?: number;
  /** Injected for tests; defaults to process.exit. */
  exit?: (code: number) => void;
}

/**
 * Installs the signal handlers; returns a function that removes them.
 * The deadline timer is not unref'd: a `stop` hung on nothing must still end
 * in exit 1, not in an empty event loop's exit 0.
 */
export function handleShutdownSignals(options: ShutdownOptions): () => void {
  const { log, stop } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let shuttingDown = false;
  let deadline: NodeJS.Timeout | undefined;
  const finish = (code: number): void => {
    clearTimeout(deadline);
    log.flush();
    exit(code);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      log.warn({ signal }, 'second signal: exiting now');
      finish(1);
      return;
    }
    shuttingDown = true;
    log.info({ signal }, 'signal received: shutting down');
    if (options.deadlineMs !== undefined) {
      const deadlineMs = options.deadlineMs;
      deadline = setTimeout(() => {
        log.error({ deadlineMs }, 'shutdown deadline passed: exiting');
        finish(1);
      }, deadlineMs);
    }
    stop().then(
      () => finish(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        finish(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
