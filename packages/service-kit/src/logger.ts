/**
 * pino JSON logs. Secrets are redacted by path, for whatever a handler logs.
 * Request logging is our own small middleware (see service.ts), not pino-http:
 * we need the route template, trace ids and request id on the completion line
 * and pino-http would build a child logger and serialize req/res for every
 * request; we log one flat line per request and create the per-request child
 * logger only when a handler asks for it.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger, DestinationStream };

/** Paths censored in every log line. Wildcards cover one level of nesting. */
export const DEFAULT_REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...['password', 'token', 'secret', 'accessToken', 'refreshToken', 'apiKey', 'clientSecret'].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

export interface LoggerOptions {
  name: string;
  version: string;
  level: string;
  /** Where lines go; default stdout through createLogDestination (buffered). */
  destination?: DestinationStream;
  /** Redacted in addition to DEFAULT_REDACT_PATHS. */
  redactPaths?: readonly string[];
}

/** Lines are buffered up to this many bytes before a write (see createLogDestination). */
export const LOG_BUFFER_BYTES = 4096;
/** Longest a buffered line waits before it is written. */
export const LOG_FLUSH_INTERVAL_MS = 250;

/**
 * The default log sink: asynchronous and buffered, so a request costs no
 * write syscall of its own; a timer flushes at least every
 * LOG_FLUSH_INTERVAL_MS and pino flushes synchronously on exit. What a
 * SIGKILL can lose is at most one buffer (LOG_BUFFER_BYTES).
 */
export function createLogDestination(dest: number | string = 1): DestinationStream {
  const stream = pino.destination({ dest, sync: true, minLength: LOG_BUFFER_BYTES });
  const timer = setInterval(() => {
    try {
      stream.flush();
    } catch {
      /* flush before the file is open, or after close: the next tick or exit writes it */
    }
  }, LOG_FLUSH_INTERVAL_MS);
  timer.unref();
  stream.once('close', () => clearInterval(timer));
  return stream;
}

export function createLogger(options: LoggerOptions): Logger {
  const config = {
    name: options.name,
    level: options.level,
    base: { service: options.name, version: options.version },
    redact: { paths: [...DEFAULT_REDACT_PATHS, ...(options.redactPaths ?? [])], censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(config, options.destination ?? createLogDestination(1));
}

const SANE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** Keeps a caller's `x-request-id` if it is short and printable, else returns undefined. */
export function saneRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && SANE_REQUEST_ID.test(value) ? value : undefined;
}
