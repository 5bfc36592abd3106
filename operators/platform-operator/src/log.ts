/**
 * The operator logs objects first (pino's call shape), so a pino logger can be
 * passed in; without one, JSON lines go to stderr.
 */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

function line(level: string) {
  return (obj: object, msg: string): void => {
    process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), ...obj, msg })}\n`);
  };
}

export const jsonLogger: Logger = { debug: () => undefined, info: line('info'), warn: line('warn'), error: line('error') };

export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** An error's message without its stack, for log fields. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
