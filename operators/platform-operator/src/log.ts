/**
 * The operator logs through the service kit's logger (pino: levels, redaction
 * by path, objects first); `Logger` is the kit's type. Components take a
 * logger; without one they log at info to stdout.
 */
import { createLogger, silentLogger, type Logger, type PinoLogger } from '@bulwark/service-kit/logging';

/** Discards everything (tests): the kit's. */
export { silentLogger, type Logger };

export const OPERATOR_NAME = 'platform-operator';
export const OPERATOR_VERSION = '0.1.0';

/** The operator's logger at `level` (LOG_LEVEL); pino, so main can flush it on exit. */
export function createOperatorLogger(level: string): PinoLogger {
  return createLogger({ name: OPERATOR_NAME, version: OPERATOR_VERSION, level });
}

let fallback: Logger | undefined;
/** The logger of components given none (created on first use). */
export function defaultLogger(): Logger {
  return (fallback ??= createOperatorLogger('info'));
}


/** An error's message without its stack, for log fields. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
