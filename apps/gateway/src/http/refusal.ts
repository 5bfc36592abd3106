/**
 * The one way the gateway refuses a request. Every refusal is an AppError of
 * a registry (errors.ts, @bulwark/ratelimit's 429/503, the kit's): no route
 * (404), method (405), version (400/410), CORS origin, token, role or tenant
 * (401/403), body size (413), rate limit (429, with its RateLimit fields) or
 * limiter unavailable, bulkhead, breaker and upstream failures (5xx). It is
 * logged once here ("request refused", the code, never the token) and written
 * by the kit's problem writer (`request.fail`): problem+json with the error's
 * own headers, the edge headers already queued in `responseHeaders`, the
 * request id, and the kit's RED metrics and completion log under the route's
 * label. A WebSocket upgrade has no response object: its refusal is the same
 * problem with the same edge headers, written on the socket.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE, toProblem } from '@bulwark/errors';
import type { Logger, RawRequest } from '@bulwark/service-kit';

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** One line per refusal below 500 (5xx are logged with their stack by the kit's writer). */
function logRefusal(log: Logger, req: IncomingMessage, err: unknown, requestId: string | undefined, upgrade: boolean): void {
  const code = (err as { code?: unknown }).code;
  const status = (err as { status?: unknown }).status;
  if (upgrade || (typeof status === 'number' && status < 500)) {
    log.info({ code, status, method: req.method, path: pathOf(req), reqId: requestId, ...(upgrade ? { upgrade: true } : {}) }, 'request refused');
  }
}

/** Refuses a proxied request: the refusal log line, then the kit's problem+json writer. */
export function refuse(log: Logger, req: IncomingMessage, request: RawRequest, err: unknown): void {
  logRefusal(log, req, err, request.requestId, false);
  request.fail(err);
}

/**
 * Refuses an upgrade on its raw socket: the same log line, and the problem
 * with its headers and the edge headers (`[name, value, …]`), then closes.
 */
export function refuseUpgrade(log: Logger, req: IncomingMessage, socket: Duplex, err: unknown, edgeHeaders: readonly string[]): void {
  logRefusal(log, req, err, undefined, true);
  if (!socket.writable) return void socket.destroy();
  const problem = toProblem(err, pathOf(req));
  const body = JSON.stringify(problem.body);
  const clean = (s: string): string => s.replace(/[\r\n]/g, '');
  let head = `HTTP/1.1 ${problem.status} ${clean(problem.body.title)}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  for (let i = 0; i + 1 < edgeHeaders.length; i += 2) head += `${edgeHeaders[i]}: ${clean(edgeHeaders[i + 1]!)}\r\n`;
  for (const [name, value] of Object.entries(problem.headers)) head += `${name}: ${clean(value)}\r\n`;
  socket.end(`${head}\r\n${body}`);
}
