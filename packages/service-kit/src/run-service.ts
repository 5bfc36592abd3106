/**
 * Process lifecycle for a service's main.ts: start, then on SIGTERM/SIGINT
 * drain and exit 0 (1 if stopping failed); a second signal forces exit 1.
 */
import type { BaseConfig } from './config.ts';
import type { Service, StartedService } from './service.ts';
import { shutdownTelemetry } from './telemetry.ts';

export interface RunServiceOptions {
  signals?: readonly NodeJS.Signals[];
  /** Injected for tests; defaults to process.exit. */
  exit?: (code: number) => void;
}

export async function runService<C extends BaseConfig>(service: Service<C>, options: RunServiceOptions = {}): Promise<StartedService> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const { log } = service;
  let started: StartedService;
  try {
    started = await service.start();
  } catch (err) {
    log.fatal({ err }, 'failed to start');
    log.flush();
    exit(1);
    throw err;
  }
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      log.warn({ signal }, 'second signal: exiting now');
      log.flush();
      exit(1);
      return;
    }
    shuttingDown = true;
    log.info({ signal }, 'signal received: shutting down');
    service
      .stop()
      .then(() => shutdownTelemetry())
      .then(
        () => {
          log.flush();
          exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          log.flush();
          exit(1);
        },
      );
  };
  for (const signal of signals) process.on(signal, onSignal);
  return started;
}
