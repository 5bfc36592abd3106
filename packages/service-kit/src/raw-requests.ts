/**
 * Requests served before Express. A service may mount raw handlers that see
 * node:http's request and response (no Express prototypes, no router) for
 * every request whose path is not one of the kit's own (declared routes and
 * operational endpoints). The kit has already begun observing the request:
 * x-request-id and traceparent are set on the response, the server span is
 * started and its context is active (see RawHandlerOptions), and on close the RED histogram, the span
 * and the completion log line are recorded exactly as for a routed request.
 * A handler that declines (returns false) hands the request to Express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { writeProblem, type PipelineDeps, type RequestState } from './http-pipeline.ts';
import type { KitServerResponse } from './kit-response.ts';
import { requestPropagationHeaders } from './tracing.ts';

/** What a raw handler gets from the kit for one request. */
export interface RawRequest {
  /** The request id echoed in `x-request-id` (the client's if sane, else 32 random hex characters). */
  readonly requestId: string;
  readonly traceId: string;
  /**
   * The request's trace context. It is active while the handler runs and
   * through its awaits, unless the handler was mounted with
   * `traceContext: 'explicit'` and no SDK is registered (see
   * RawHandlerOptions); pass it to `propagationHeaders(ctx)` to be explicit.
   */
  readonly traceContext: Context;
  /**
   * Headers that carry this request's trace (and baggage) to an outbound
   * call: `propagationHeaders(traceContext)`, without the per-call work when
   * the kit minted the trace itself. A fresh object each call.
   */
  propagationHeaders(): Record<string, string>;
  /**
   * Response header fields as a flat `[name, value, …]` list with lower-case
   * names, written with the response head however it is written (writeHead,
   * or implicitly by write/end). The kit's x-request-id and traceparent are
   * here, not on `res`; push your own fixed fields here too: a head written
   * with `res.writeHead(status, [...])` and nothing set through `setHeader`
   * goes to node as one array. A field set explicitly (setHeader, or a
   * writeHead argument) wins over one of the same name here.
   */
  readonly responseHeaders: string[];
  /** Child logger carrying reqId, traceId and spanId (created on first use). */
  readonly log: Logger;
  /** Sets the route label of the request's RED metrics, span and log line (a bounded set, never the raw path). */
  markRoute(template: string): void;
  /**
   * Sets (undefined clears) the one function called when the response
   * closes, finished or not (`res.writableFinished` tells), before the kit
   * records the request: a second 'close' listener on `res` without the
   * listener-array churn per request.
   */
  onClose(listener: (() => void) | undefined): void;
  /** Answers with `err` as problem+json, logged like a routed request's error (5xx with stack). */
  fail(err: unknown): void;
}

/**
 * Returns true when it took the request (it answers, or will, possibly
 * through `request.fail`); false to pass it on to Express untouched apart
 * from headers it set. A synchronous throw is answered as problem+json.
 */
export type RawRequestHandler = (req: IncomingMessage, res: ServerResponse, request: RawRequest) => boolean;

export class KitRawRequest implements RawRequest {
  readonly #deps: PipelineDeps;
  readonly #state: RequestState;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;

  constructor(deps: PipelineDeps, state: RequestState, req: IncomingMessage, res: ServerResponse) {
    this.#deps = deps;
    this.#state = state;
    this.#req = req;
    this.#res = res;
  }

  get requestId(): string {
    return this.#state.requestId;
  }

  get traceId(): string {
    return this.#state.trace.traceId;
  }

  get responseHeaders(): string[] {
    const res = this.#res as KitServerResponse;
    return (res.pendingHeaders ??= []);
  }

  get traceContext(): Context {
    return this.#state.trace.ctx;
  }

  get log(): Logger {
    const state = this.#state;
    return (state.log ??= this.#deps.log.child({ reqId: state.requestId, traceId: state.trace.traceId, spanId: state.trace.spanId }));
  }

  propagationHeaders(): Record<string, string> {
    return requestPropagationHeaders(this.#state.trace);
  }

  markRoute(template: string): void {
    this.#state.route = template;
  }

  onClose(listener: (() => void) | undefined): void {
    this.#state.onClose = listener;
  }

  fail(err: unknown): void {
    writeProblem(this.#deps, err, this.#req, this.#res);
  }
}
