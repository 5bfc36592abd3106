/**
 * The one mapping from any thrown value to an RFC 9457 problem document.
 * AppErrors keep their status, code and extensions; anything else is a 500
 * whose detail never leaks the internal message or stack.
 */
import { AppError } from './app-error.ts';
import { getErrorCode } from './registry.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'https://bulwark.dev/problems/';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: string;
  [extension: string]: unknown;
}

export interface Problem {
  status: number;
  headers: Record<string, string>;
  body: ProblemDocument;
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  408: 'Request Timeout', 409: 'Conflict', 413: 'Content Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Maps an error to a problem; `instance` is usually the request path or id. */
export function toProblem(err: unknown, instance?: string): Problem {
  if (err instanceof AppError) {
    const registered = getErrorCode(err.code);
    const headers: Record<string, string> = { ...err.headers };
    if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(0, Math.ceil(err.retryAfterSeconds)));
    const body: ProblemDocument = {
      ...err.extensions,
      type: TYPE_BASE + err.code.toLowerCase().replaceAll('_', '-'),
      title: err.title ?? registered?.title ?? STATUS_TITLES[err.status] ?? 'Error',
      status: err.status,
      detail: err.status >= 500 && err.status !== 503 ? 'The server could not complete the request.' : err.message,
      code: err.code,
    };
    if (instance !== undefined) body.instance = instance;
    return { status: err.status, headers, body };
  }
  const body: ProblemDocument = {
    type: TYPE_BASE + 'internal',
    title: STATUS_TITLES[500]!,
    status: 500,
    detail: 'The server could not complete the request.',
    code: 'INTERNAL',
  };
  if (instance !== undefined) body.instance = instance;
  return { status: 500, headers: {}, body };
}

export function statusTitle(status: number): string {
  return STATUS_TITLES[status] ?? 'Error';
}
