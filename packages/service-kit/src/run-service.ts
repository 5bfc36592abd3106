/**
 * Process lifecycle for a service's main.ts: start (listen, then the
 * service's own preparation when given), then on SIGTERM/SIGINT
 * drain and exit 0 (1 if stopping failed); a second signal forces exit 1.
 * The signal handling is lifecycle.ts's, shared with processes without HTTP.
 */
import type { BaseConfig } from './config.ts';
import { handleShutdownSignals } from './lifecycle.ts';
import type { Service, StartedService } from './service.ts';
import { shutdownTelemetry } from './telemetry.ts';

export interface RunServiceOptions {
  signals?: readonly NodeJS.Signals[];
  /** Injected for tests; defaults to process.exit. */
  exit?: (code: number) => void;
  /** Runs after the server listens, before it is ready (`StartOptions.prepare`): /healthz answers meanwhile. */
  prepare?: () => Promise<void>;
}

export async function runService<C extends BaseConfig>(service: Service<C>, options: RunServiceOptions = {}): Promise<StartedService> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const { log } = service;
  let started: StartedService;
  try {
    started = await service.start(options.prepare ? { prepare: options.prepare } : {});
  } catch (err) {
    log.fatal({ err }, 'failed to start');
    log.flush();
    exit(1);
    throw err;
  }
  handleShutdownSignals({
    log,
    signals: options.signals,
    exit,
    stop: () => service.stop().then(() => shutdownTelemetry()),
  });
  return started;
}
