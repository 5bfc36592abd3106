import { baseConfigSchema, loadConfig, type BaseConfig } from '../src/index.ts';

export interface CapturedLogs {
  destination: { write(line: string): void };
  lines: Record<string, unknown>[];
}

/** A pino destination that keeps parsed lines in memory. */
export function captureLogs(): CapturedLogs {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

export function testConfig(env: Record<string, string> = {}): BaseConfig {
  return loadConfig(baseConfigSchema, { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', ...env });
}

/** A promise with its resolve exposed, to hold a handler until the test lets go. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
