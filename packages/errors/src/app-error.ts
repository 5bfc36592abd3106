/**
 * The one error base of the platform. Every error that crosses a package
 * boundary on purpose is an AppError with a registered code, so that callers
 * can branch on `code` and the HTTP layer can map it to problem+json without
 * knowing the package it came from.
 */

export interface AppErrorOptions {
  /** HTTP status the error maps to (4xx for caller faults, 5xx for ours). */
  status: number;
  /** Short human title; stable per code. Defaults to the code's registered title. */
  title?: string;
  /** Extra members for the problem document (RFC 9457 extension members). */
  extensions?: Record<string, unknown>;
  /** Seconds after which a retry makes sense; becomes `Retry-After`. */
  retryAfterSeconds?: number;
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string | undefined;
  readonly extensions: Record<string, unknown>;
  readonly retryAfterSeconds: number | undefined;
  readonly headers: Record<string, string>;

  constructor(code: string, message: string, options: AppErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status;
    this.title = options.title;
    this.extensions = options.extensions ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
