/**
 * Forwarding one request to its upstream: size limit, bulkhead, attempts
 * through the breaker with a per-attempt timeout, retries (idempotent methods
 * or Idempotency-Key; full-jitter backoff; retry budget), then the response
 * streamed back. Bodies stream both ways; a request body is buffered only when
 * it is small and the request may be retried (it must be re-sendable).
 * Errors before the response starts are thrown as AppErrors (problem+json by
 * the kit); after it starts, the client connection is cut.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { Logger } from '@bulwark/service-kit';
import { gatewayError } from '../errors.ts';
import { isCircuitOpen, UpstreamStatusError, type GatewayMetrics, type Upstream, type UpstreamResponse } from '../upstreams/upstream.ts';
import { clientResponseHeaders, type OutgoingHeaders } from './headers.ts';
import { backoffDelayMs, IDEMPOTENT_METHODS } from './resilience.ts';
import type { RetryConfig } from './routes-file.ts';

export interface ProxyInput {
  req: IncomingMessage;
  res: ServerResponse;
  upstream: Upstream;
  /** Path and query as the upstream receives them. */
  path: string;
  headers: OutgoingHeaders;
  timeoutMs: number;
  retry: RetryConfig;
  maxBodyBytes: number;
  metrics: GatewayMetrics;
  log: Logger;
}

/** Network failures worth another attempt: the request did not reach, or its connection dropped. */
const RETRYABLE_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 3 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function tooLarge(limit: number) {
  return gatewayError('GATEWAY_BODY_TOO_LARGE', `the request body exceeds ${limit} bytes`, { extensions: { limitBytes: limit } });
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Passes bytes through until `limit`, then fails the stream (and so the upstream request). */
function limitStream(limit: number, onExceeded: () => void): Transform {
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      size += chunk.length;
      if (size > limit) {
        onExceeded();
        callback(tooLarge(limit));
      } else callback(null, chunk);
    },
  });
}

export async function proxyRequest(input: ProxyInput): Promise<void> {
  const { req, res, upstream, retry, maxBodyBytes, metrics } = input;
  const method = req.method ?? 'GET';
  const declared = req.headers['content-length'];
  const declaredLength = declared === undefined ? undefined : Number(declared);
  const hasBody = (declaredLength !== undefined && declaredLength > 0) || req.headers['transfer-encoding'] !== undefined;
  if (declaredLength !== undefined && declaredLength > maxBodyBytes) {
    res.setHeader('connection', 'close'); // do not read what we refused
    throw tooLarge(maxBodyBytes);
  }

  const retryable = IDEMPOTENT_METHODS.has(method) || req.headers['idempotency-key'] !== undefined;
  let attempts = retryable ? retry.attempts : 1;
  let body: Buffer | Readable | undefined;
  let exceeded = false;
  if (hasBody) {
    if (attempts > 1 && declaredLength !== undefined && declaredLength <= retry.maxBufferedBodyBytes) {
      body = await readBody(req, maxBodyBytes);
    } else {
      attempts = 1;
      body = declaredLength !== undefined ? req : req.pipe(limitStream(maxBodyBytes, () => (exceeded = true)));
    }
  }

  const release = upstream.bulkhead.tryAcquire();
  if (!release) {
    metrics.upstreamRequests.inc({ upstream: upstream.name, outcome: 'bulkhead_full' });
    throw gatewayError('BULKHEAD_FULL', `upstream ${upstream.name} has ${upstream.bulkhead.max} requests in flight`, { retryAfterSeconds: upstream.config.bulkhead.retryAfterSeconds });
  }
  const client = new AbortController();
  const onClientClose = (): void => {
    if (!res.writableFinished) client.abort(new Error('client closed the connection'));
  };
  res.once('close', onClientClose);
  try {
    upstream.budget.recordRequest();
    const response = await attemptWithRetries(input, method, body, attempts, client.signal, () => exceeded);
    if (!response) return; // the client left
    res.writeHead(response.statusCode, clientResponseHeaders(response.headers));
    try {
      await pipeline(response.body, res);
    } catch (err) {
      if (!client.signal.aborted) input.log.warn({ upstream: upstream.name, err }, 'upstream response failed mid-stream');
      res.destroy();
    }
  } finally {
    res.off('close', onClientClose);
    release();
  }
}

/** One retry from the upstream's budget; counts refusals. */
function takeRetry(input: ProxyInput): boolean {
  if (input.upstream.budget.tryRetry()) return true;
  input.metrics.retries.inc({ upstream: input.upstream.name, reason: 'budget_exhausted' });
  return false;
}

async function attemptWithRetries(
  input: ProxyInput,
  method: string,
  body: Buffer | Readable | undefined,
  attempts: number,
  clientSignal: AbortSignal,
  bodyExceeded: () => boolean,
): Promise<UpstreamResponse | undefined> {
  const { upstream, retry, metrics, timeoutMs } = input;
  const labels = { upstream: upstream.name, outcome: 'response' };
  for (let attempt = 0; ; attempt++) {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`upstream did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onClientAbort = (): void => controller.abort(clientSignal.reason);
    clientSignal.addEventListener('abort', onClientAbort, { once: true });
    const options: Dispatcher.RequestOptions = {
      path: upstream.basePath + input.path,
      method: method as Dispatcher.HttpMethod,
      headers: input.headers,
      body: body ?? null,
      signal: controller.signal,
      bodyTimeout: timeoutMs,
      headersTimeout: 0, // our own timer covers connect + send + headers
    };
    let retryReason: string | undefined;
    try {
      const response = await upstream.send(options);
      metrics.upstreamRequests.inc(labels);
      return response;
    } catch (err) {
      if (isCircuitOpen(err)) {
        metrics.upstreamRequests.inc({ upstream: upstream.name, outcome: 'circuit_open' });
        throw gatewayError('CIRCUIT_OPEN', `the circuit to ${upstream.name} is open`, { retryAfterSeconds: Math.ceil(upstream.config.breaker.resetTimeoutMs / 1000) });
      }
      if (err instanceof UpstreamStatusError) {
        metrics.upstreamRequests.inc(labels);
        if (!retry.retryOn.includes(err.response.statusCode) || attempt + 1 >= attempts || !takeRetry(input)) return err.response;
        await err.response.body.dump();
        retryReason = `status_${err.response.statusCode}`;
      } else if (clientSignal.aborted) {
        return undefined;
      } else if (bodyExceeded()) {
        throw tooLarge(input.maxBodyBytes);
      } else if (timedOut) {
        metrics.upstreamRequests.inc({ upstream: upstream.name, outcome: 'timeout' });
        input.log.warn({ upstream: upstream.name, timeoutMs, attempt }, 'upstream timed out');
        throw gatewayError('UPSTREAM_TIMEOUT', `upstream ${upstream.name} did not answer within ${timeoutMs} ms`, { extensions: { timeoutMs } });
      } else {
        const code = errorCode(err);
        if (code === 'UND_ERR_INVALID_ARG') throw gatewayError('GATEWAY_BAD_REQUEST', 'the request cannot be forwarded (invalid header or method)', { cause: err });
        metrics.upstreamRequests.inc({ upstream: upstream.name, outcome: 'error' });
        if (code === undefined || !RETRYABLE_ERRORS.has(code) || attempt + 1 >= attempts || !takeRetry(input)) {
          input.log.warn({ upstream: upstream.name, code, err, attempt }, 'upstream unreachable');
          throw gatewayError('UPSTREAM_UNAVAILABLE', `upstream ${upstream.name} is unreachable`, { cause: err });
        }
        retryReason = code;
      }
    } finally {
      clearTimeout(timer);
      clientSignal.removeEventListener('abort', onClientAbort);
    }
    metrics.retries.inc({ upstream: upstream.name, reason: retryReason });
    await sleep(backoffDelayMs(attempt, retry.baseDelayMs, retry.maxDelayMs), undefined, { signal: clientSignal }).catch(() => undefined);
    if (clientSignal.aborted) return undefined;
  }
}
