/**
 * Forwarding one request to its upstream: size limit, bulkhead, attempts
 * through the breaker with a per-attempt timeout, retries (idempotent methods
 * or Idempotency-Key; full-jitter backoff; retry budget), then the response
 * relayed to the client. Bodies stream both ways; a request body is buffered
 * only when it is small and the request may be retried (it must be
 * re-sendable). Errors before the response starts are thrown as AppErrors
 * (problem+json by the kit); after it starts, the client connection is cut.
 *
 * Each attempt is one undici `dispatch` with the handler below, which writes
 * the upstream's status, headers and body chunks straight into the client
 * response (with backpressure): no response stream object, no
 * `stream.pipeline`, no AbortController per attempt. That path was most of
 * the gateway's cost per request (see docs/PERFORMANCE.md, gateway).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Logger } from '@bulwark/service-kit';
import { backoffDelay } from '@bulwark/service-kit/backoff';
import { gatewayError } from '../errors.ts';
import type { Deadline, DeadlineQueue } from '../upstreams/deadline-queue.ts';
import { isCircuitOpen, UpstreamStatusError, type GatewayMetrics, type Upstream } from '../upstreams/upstream.ts';
import { clientResponseHeaderList, type OutgoingHeaders } from '../domain/headers.ts';
import { IDEMPOTENT_METHODS } from '../domain/resilience.ts';
import type { RetryConfig } from '../domain/routes-file.ts';

export interface ProxyInput {
  req: IncomingMessage;
  res: ServerResponse;
  upstream: Upstream;
  /** Path and query as the upstream receives them. */
  path: string;
  headers: OutgoingHeaders;
  /** The route's attempt deadlines (one timer per route timeout, see deadline-queue.ts). */
  deadlines: DeadlineQueue;
  retry: RetryConfig;
  maxBodyBytes: number;
  metrics: GatewayMetrics;
  log: Logger;
  /** Registers the one function to call when the client response closes (the kit's RawRequest.onClose); default: a 'close' listener on `res`. */
  onClose?: ((listener: (() => void) | undefined) => void) | undefined;
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

class AttemptTimeout extends Error {
  constructor(ms: number) {
    super(`upstream did not answer within ${ms} ms`);
    this.name = 'AttemptTimeout';
  }
}

class ClientGone extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGone';
  }
}

/** What the handler does with a response: waiting for its head; relaying it to the client; dropping a 5xx that will be retried; settled (ignore whatever undici still reports). */
const PENDING = 0;
const RELAY = 1;
const DISCARD = 2;
const DONE = 3;

/**
 * One attempt: an undici dispatch handler. `start` dispatches and returns a
 * promise that settles when the response head arrives (5xx reject with
 * UpstreamStatusError, for the breaker) or the attempt fails before it;
 * `finished` settles when the body has been relayed or dropped. The retry
 * decision for a 5xx is taken synchronously in onResponseStart, so the head
 * is written to the client without waiting for any promise.
 */
class Attempt implements Dispatcher.DispatchHandler {
  /** Settles once the response (if any) is fully relayed or dropped; never rejects. */
  readonly finished: Promise<void>;
  retrying = false;
  timedOut = false;
  /** Set if the response failed after its head was relayed. */
  midStreamError: Error | undefined;
  #mode = PENDING;
  #controller: Dispatcher.DispatchController | undefined;
  #abortReason: Error | undefined;
  #deadline: Deadline | undefined;
  #resolveStarted: () => void = noop;
  #rejectStarted: (err: unknown) => void = noop;
  #resolveFinished!: () => void;
  #drainListening = false;
  readonly #res: ServerResponse;
  readonly #deadlines: DeadlineQueue;
  readonly #mayRetry: (status: number) => boolean;

  constructor(res: ServerResponse, deadlines: DeadlineQueue, mayRetry: (status: number) => boolean) {
    this.#res = res;
    this.#deadlines = deadlines;
    this.#mayRetry = mayRetry;
    this.finished = new Promise<void>((resolve) => (this.#resolveFinished = resolve));
  }

  start(pool: Dispatcher, options: Dispatcher.DispatchOptions): Promise<void> {
    const started = new Promise<void>((resolve, reject) => {
      this.#resolveStarted = resolve;
      this.#rejectStarted = reject;
    });
    this.#deadline = this.#deadlines.start(this.#onTimeout);
    pool.dispatch(options, this);
    return started;
  }

  readonly #onTimeout = (): void => {
    this.timedOut = true;
    this.abort(new AttemptTimeout(this.#deadlines.timeoutMs));
  };

  /** Stops the attempt; before the head it fails `start` at once, even if undici has not started the request yet. */
  abort(reason: Error): void {
    if (this.#mode === DONE) return;
    if (this.#mode === PENDING) this.#fail(reason);
    else if (this.#mode === RELAY) this.#breakRelay(reason);
    else this.#settle();
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason) controller.abort(this.#abortReason);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.#mode !== PENDING) return;
    this.#stopClock();
    const failed = statusCode >= 500 && statusCode !== 501;
    if (failed && this.#mayRetry(statusCode)) {
      this.retrying = true;
      this.#mode = DISCARD;
    } else {
      this.#mode = RELAY;
      this.#res.writeHead(statusCode, clientResponseHeaderList(headers));
    }
    if (failed) this.#rejectStarted(new UpstreamStatusError(statusCode));
    else this.#resolveStarted();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#mode === RELAY && !this.#res.write(chunk)) this.#pause(controller);
  }

  onResponseEnd(): void {
    if (this.#mode === RELAY) this.#res.end();
    this.#settle();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (this.#mode === PENDING) this.#fail(err);
    else if (this.#mode === RELAY) this.#breakRelay(err);
    else this.#settle();
  }

  #pause(controller: Dispatcher.DispatchController): void {
    controller.pause();
    if (this.#drainListening) return;
    this.#drainListening = true;
    this.#res.on('drain', () => this.#controller?.resume());
  }

  #stopClock(): void {
    if (this.#deadline !== undefined) this.#deadlines.cancel(this.#deadline);
  }

  #fail(err: unknown): void {
    this.#stopClock();
    this.#mode = DONE;
    this.#rejectStarted(err);
    this.#resolveFinished();
  }

  #breakRelay(err: Error): void {
    this.midStreamError = err;
    this.#settle();
  }

  #settle(): void {
    this.#mode = DONE;
    this.#resolveFinished();
  }
}

function noop(): void {}

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
  const link = new ClientLink(res, input.onClose);
  try {
    upstream.budget.recordRequest();
    await relayWithRetries(input, method, body, attempts, link, () => exceeded);
  } finally {
    link.detach();
    release();
  }
}

/** The client side of one proxied request: notices the client leaving and stops the attempt or backoff in progress. */
class ClientLink {
  gone = false;
  attempt: Attempt | undefined;
  wake: (() => void) | undefined;
  readonly #res: ServerResponse;
  readonly #register: ((listener: (() => void) | undefined) => void) | undefined;
  readonly #onClose = (): void => {
    if (this.#res.writableFinished) return;
    this.gone = true;
    this.attempt?.abort(new ClientGone());
    this.wake?.();
  };

  constructor(res: ServerResponse, register: ((listener: (() => void) | undefined) => void) | undefined) {
    this.#res = res;
    this.#register = register;
    if (register) register(this.#onClose);
    else res.on('close', this.#onClose);
  }

  detach(): void {
    if (this.#register) this.#register(undefined);
    else this.#res.off('close', this.#onClose);
  }

  /** Full-jitter backoff that ends early if the client leaves. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

/** One retry from the upstream's budget; counts refusals. */
function takeRetry(input: ProxyInput): boolean {
  if (input.upstream.budget.tryRetry()) return true;
  input.metrics.retries.inc({ upstream: input.upstream.name, reason: 'budget_exhausted' });
  return false;
}

async function relayWithRetries(
  input: ProxyInput,
  method: string,
  body: Buffer | Readable | undefined,
  attempts: number,
  link: ClientLink,
  bodyExceeded: () => boolean,
): Promise<void> {
  const { upstream, retry, metrics, deadlines, res } = input;
  const { timeoutMs } = deadlines;
  const options: Dispatcher.DispatchOptions = {
    path: upstream.basePath + input.path,
    method: method as Dispatcher.HttpMethod,
    headers: input.headers,
    body: body ?? null,
    bodyTimeout: timeoutMs,
    headersTimeout: 0, // the attempt's own timer covers queueing, connect, send and headers
  };
  for (let attempt = 0; ; attempt++) {
    const last = attempt + 1 >= attempts;
    const current = new Attempt(res, deadlines, (status) => !last && retry.retryOn.includes(status) && takeRetry(input));
    link.attempt = current;
    let retryReason: string | undefined;
    try {
      await upstream.send(() => current.start(upstream.pool, options));
      upstream.countResponse();
    } catch (err) {
      if (isCircuitOpen(err)) {
        metrics.upstreamRequests.inc({ upstream: upstream.name, outcome: 'circuit_open' });
        throw gatewayError('CIRCUIT_OPEN', `the circuit to ${upstream.name} is open`, { retryAfterSeconds: Math.ceil(upstream.config.breaker.resetTimeoutMs / 1000) });
      }
      if (err instanceof UpstreamStatusError) {
        upstream.countResponse();
        if (current.retrying) retryReason = `status_${err.status}`;
      } else if (link.gone) {
        return;
      } else if (bodyExceeded()) {
        throw tooLarge(input.maxBodyBytes);
      } else if (current.timedOut) {
        metrics.upstreamRequests.inc({ upstream: upstream.name, outcome: 'timeout' });
        input.log.warn({ upstream: upstream.name, timeoutMs, attempt }, 'upstream timed out');
        throw gatewayError('UPSTREAM_TIMEOUT', `upstream ${upstream.name} did not answer within ${timeoutMs} ms`, { extensions: { timeoutMs } });
      } else {
        const code = errorCode(err);
        if (code === 'UND_ERR_INVALID_ARG') throw gatewayError('GATEWAY_BAD_REQUEST', 'the request cannot be forwarded (invalid header or method)', { cause: err });
        metrics.upstreamRequests.inc({ upstream: upstream.name, outcome: 'error' });
        if (code === undefined || !RETRYABLE_ERRORS.has(code) || last || !takeRetry(input)) {
          input.log.warn({ upstream: upstream.name, code, err, attempt }, 'upstream unreachable');
          throw gatewayError('UPSTREAM_UNAVAILABLE', `upstream ${upstream.name} is unreachable`, { cause: err });
        }
        retryReason = code;
      }
    }
    if (retryReason === undefined) {
      // The head went to the client; wait for the body to be relayed.
      await current.finished;
      if (current.midStreamError) {
        if (!link.gone) input.log.warn({ upstream: upstream.name, err: current.midStreamError }, 'upstream response failed mid-stream');
        res.destroy();
      }
      return;
    }
    await current.finished; // a retried 5xx: its body is dropped first, which keeps the connection reusable
    metrics.retries.inc({ upstream: upstream.name, reason: retryReason });
    await link.sleep(backoffDelay(attempt + 1, { baseMs: retry.baseDelayMs, capMs: retry.maxDelayMs, jitter: 'full' }));
    if (link.gone) return;
  }
}
