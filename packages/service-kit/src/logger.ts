/**
 * pino JSON logs. Secrets are redacted by path, for whatever a handler logs.
 * Request logging is our own small middleware (see service.ts), not pino-http:
 * we need the route template, trace ids and request id on the completion line
 * and pino-http would build a child logger and serialize req/res for every
 * request; we log one flat line per request and create the per-request child
 * logger only when a handler asks for it.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type { DestinationStream, PinoLogger };

/** A log method: fields first, message second. */
export type LogFn = (obj: object, msg?: string) => void;

/**
 * The logger every package and component accepts: the structural subset of
 * pino they log through (four object-first levels). A pino logger (what
 * `createLogger` returns) is one; a test passes a stub. Packages import this
 * type rather than declare their own; code that needs more of pino (`child`,
 * `flush`) asks for a `PinoLogger`.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const discard: LogFn = () => undefined;

/** Discards every line: the default of components given no logger, and a base for test stubs (`{ ...silentLogger, warn }`). */
export const silentLogger: Logger = {
  debug: discard,
  info: discard,
  warn: discard,
  error: discard,
};

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
export const LOG_BUFFER_BYTES = 16_384;
/** Longest a buffered line waits before it is written. */
export const LOG_FLUSH_INTERVAL_MS = 250;

/**
 * The default log sink: lines are encoded into a byte buffer here and handed
 * to a synchronous sonic-boom (pino.destination, buffer mode) one
 * LOG_BUFFER_BYTES chunk at a time, so a request costs no write syscall of
 * its own. A timer writes what is pending at least every
 * LOG_FLUSH_INTERVAL_MS, `flush()`/`flushSync()` write it at once
 * (runService flushes on shutdown), and process exit writes it
 * synchronously. What a SIGKILL can lose is at most one buffer.
 *
 * Why bytes and not a string: sonic-boom's own `minLength` measures the UTF-8
 * length of its whole pending string on every write (~2.4 µs a line at
 * 4 KiB), and a string gathered with `+=` is a rope that sonic-boom then
 * measures and encodes once more per chunk (~5 µs a line, amortised, in the
 * gateway's profile). Encoding each line once into a preallocated buffer
 * costs a fraction of that; sonic-boom only ever sees whole buffers.
 */
export function createLogDestination(dest: number | string = 1): BufferedLogDestination {
  return new BufferedLogDestination(pino.destination({ dest, sync: true, minLength: 0, contentMode: 'buffer' }) as unknown as ByteSink);
}

/** A sonic-boom in buffer mode: takes whole byte chunks. */
interface ByteSink {
  write(chunk: Buffer): boolean;
  flushSync(): void;
  end(): void;
}

const liveDestinations = new Set<BufferedLogDestination>();
let exitHookInstalled = false;

export class BufferedLogDestination implements DestinationStream {
  readonly #sink: ByteSink;
  readonly #timer: NodeJS.Timeout;
  #buf = Buffer.allocUnsafeSlow(LOG_BUFFER_BYTES);
  #used = 0;
  #closed = false;

  constructor(sink: ByteSink) {
    this.#sink = sink;
    this.#timer = setInterval(() => this.flush(), LOG_FLUSH_INTERVAL_MS);
    this.#timer.unref();
    liveDestinations.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const d of liveDestinations) d.flushSync();
      });
    }
  }

  write(line: string): boolean {
    if (this.#closed) return false;
    // A UTF-8 encoding takes at most 3 bytes per UTF-16 code unit.
    if (this.#used + line.length * 3 > LOG_BUFFER_BYTES) {
      this.#handOver();
      if (line.length * 3 > LOG_BUFFER_BYTES) {
        this.#sink.write(Buffer.from(line, 'utf8')); // a line longer than the buffer goes on its own
        return true;
      }
    }
    this.#used += this.#buf.write(line, this.#used);
    return true;
  }

  /** Writes what is pending (synchronously: the sink is a sync sonic-boom). */
  flush(cb?: (err?: Error) => void): void {
    try {
      this.#handOver();
      cb?.();
    } catch (err) {
      // Before the file is open, or after it closed: the next flush or exit writes it.
      cb?.(err as Error);
    }
  }

  flushSync(): void {
    try {
      this.#handOver();
      this.#sink.flushSync();
    } catch {
      /* nothing more can be done at exit */
    }
  }

  /** Writes what is pending and closes the sink. */
  end(): void {
    if (this.#closed) return;
    this.flushSync();
    this.#closed = true;
    clearInterval(this.#timer);
    liveDestinations.delete(this);
    this.#sink.end();
  }

  #handOver(): void {
    if (this.#used === 0) return;
    const chunk = this.#buf.subarray(0, this.#used);
    // sonic-boom may keep the chunk (a partial write is retried later), so it
    // gets this buffer and the next lines go to a fresh one.
    this.#buf = Buffer.allocUnsafeSlow(LOG_BUFFER_BYTES);
    this.#used = 0;
    this.#sink.write(chunk);
  }
}

export function createLogger(options: LoggerOptions): PinoLogger {
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
