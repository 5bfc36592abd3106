/**
 * Holds an Express response until the caller's `settle` has decided its fate:
 * writes and end are buffered, then either sent as they were (settle → true)
 * or replaced by `onFailure` (settle → false; the buffered answer must not
 * reach the client because what it reports is not durable).
 */
import type { Response } from 'express';
import { PROBLEM_CONTENT_TYPE, toProblem, type AppError } from '@bulwark/errors';

export const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Writes `error` as RFC 9457 problem+json (status, its headers such as Retry-After, the body). */
export function writeProblem(res: Response, error: AppError, instance: string): void {
  const problem = toProblem(error, instance);
  res.status(problem.status);
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
  res.end(JSON.stringify(problem.body));
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk);
  return Buffer.from(String(chunk), typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
}

export function holdResponse(res: Response, settle: (body: Buffer) => Promise<boolean>, onFailure: () => void): void {
  const chunks: Buffer[] = [];
  const originalWrite = res.write;
  const originalEnd = res.end;
  let finishing = false;
  res.write = function holdWrite(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (chunk !== undefined && chunk !== null) chunks.push(toBuffer(chunk, encoding));
    const callback = typeof encoding === 'function' ? encoding : cb;
    if (typeof callback === 'function') queueMicrotask(() => (callback as () => void)());
    return true;
  } as Response['write'];
  res.end = function holdEnd(chunk?: unknown, encoding?: unknown, cb?: unknown): Response {
    if (finishing) return res;
    finishing = true;
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (chunk !== undefined && chunk !== null) chunks.push(toBuffer(chunk, encoding));
    const body = Buffer.concat(chunks);
    void settle(body).then((ok) => {
      res.write = originalWrite;
      res.end = originalEnd;
      if (ok) {
        if (!res.headersSent) res.setHeader('content-length', body.length);
        res.end(body, cb as () => void);
        return;
      }
      if (res.headersSent) {
        res.destroy(); // writeHead() already fixed a success status: the client must not take it for one
        return;
      }
      for (const name of res.getHeaderNames()) if (!['x-request-id', 'traceparent'].includes(name)) res.removeHeader(name);
      onFailure();
    });
    return res;
  } as Response['end'];
}
