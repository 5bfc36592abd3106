/**
 * The per-request machinery shared by every route: request id, server span,
 * metrics and the completion log line (observe), the route wrapper that
 * validates and runs a handler, and the fallthrough/error handlers that turn
 * everything into problem+json. Kept allocation-light: one state object per
 * request; the child logger and abort signal only exist if a handler asks.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { isAppError, PROBLEM_CONTENT_TYPE, toProblem, type AppError } from '@bulwark/errors';
import { completionLog } from './completion-log.ts';
import { kitError } from './errors.ts';
import { KitServerResponse } from './kit-response.ts';
import { saneRequestId } from './logger.ts';
import type { HttpMetrics } from './metrics.ts';
import { methodLabel, UNMATCHED_ROUTE, type RouteTable } from './route-table.ts';
import { validateRequest, type RouteContext, type RouteDefinition, type RouteResult, type ResponseSchemas } from './routes.ts';
import { endServerSpan, randomHexId, startServerSpan, type ServerSpan } from './tracing.ts';

export interface RequestState {
  start: number;
  requestId: string;
  route: string | undefined;
  trace: ServerSpan;
  log: Logger | undefined;
  /** Called first when the response closes (RawRequest.onClose); at most one. */
  onClose?: (() => void) | undefined;
}

const kState = Symbol('bulwark.request-state');
type WithState = { [kState]?: RequestState };

function stateOf(req: IncomingMessage): RequestState | undefined {
  return (req as WithState)[kState];
}

/** Routes whose completion is logged at debug: probes and scrapes would drown the rest. */
const QUIET_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

export interface PipelineDeps {
  name: string;
  log: Logger;
  metrics: HttpMetrics;
  table: RouteTable;
  bodyLimitBytes: number;
  /** Deepest nesting of arrays/objects a validated part may have (BODY_MAX_DEPTH). */
  bodyMaxDepth: number;
  /** Wraps each route middleware and handler (ServiceOptions.requestScope). */
  requestScope?: (<T>(req: IncomingMessage, run: () => T) => T) | undefined;
  /**
   * Operational GET endpoints (health, metrics, OpenAPI) by exact path, served
   * by observe before the router. Looked up per request, so endpoints added
   * after observe() was built are served too.
   */
  operational: ReadonlyMap<string, RequestHandler>;
  isDraining(): boolean;
  /** True while `start({ prepare })` runs: only operational endpoints are served. */
  isStarting(): boolean;
  /** Called after each response while draining, to let go of now-idle keep-alive sockets. */
  onResponseWhileDraining(): void;
}

function requestLogger(deps: PipelineDeps, state: RequestState): Logger {
  return (state.log ??= deps.log.child({ reqId: state.requestId, traceId: state.trace.traceId, spanId: state.trace.spanId }));
}

/**
 * Starts observing a request: state, ids, span, response headers, and on
 * close metrics, span end and one log line. Used by the first middleware and
 * by the raw listener (requests served before Express).
 */
export interface Observer {
  /**
   * Begins observation of a request that has not been seen yet. With
   * `deferHeaders` and a KitServerResponse, x-request-id and traceparent go
   * to `res.pendingHeaders` (written with the head) instead of setHeader.
   */
  begin(req: IncomingMessage, res: ServerResponse, deferHeaders?: boolean): RequestState;
  /**
   * First middleware: begins observation (unless the raw listener already
   * did) and answers exact-path operational endpoints, so application routes
   * do not pay a router layer for each of them.
   */
  middleware: RequestHandler;
}

export function observer(deps: PipelineDeps): Observer {
  const { metrics, operational } = deps;
  // The completion line carries only fields the kit chose (no headers, no
  // query), so it skips redaction, which is the costliest part of a log call.
  const log = deps.log.child({}, { redact: [] });
  const writeCompletion = completionLog(log);
  // One listener shared by every response (no closure per request); `this` is the response.
  function onResponseClose(this: ServerResponse): void {
    const req = this.req;
    const state = stateOf(req);
    if (!state) return;
    const hook = state.onClose;
    if (hook !== undefined) {
      state.onClose = undefined;
      hook();
    }
    const route = state.route ?? UNMATCHED_ROUTE;
    const method = methodLabel(req.method ?? 'GET');
    // 499 (nginx's "client closed request") when the client left before the response completed.
    const status = this.writableFinished ? this.statusCode : 499;
    const durationMs = performance.now() - state.start;
    metrics.observe(method, route, status, durationMs / 1000);
    const { trace } = state;
    if (!trace.minted) endServerSpan(trace.span, method, route, status); // a minted span never records
    const level = QUIET_ROUTES.has(route) ? 'debug' : 'info';
    if (log.isLevelEnabled(level)) {
      writeCompletion(level, { reqId: state.requestId, traceId: trace.traceId, spanId: trace.spanId, method, route, path: pathOf(req), status, durationMs: Math.round(durationMs * 1000) / 1000 });
    }
    if (deps.isDraining()) deps.onResponseWhileDraining();
  }
  function begin(req: IncomingMessage, res: ServerResponse, deferHeaders = false): RequestState {
    const start = performance.now();
    const requestId = saneRequestId(req.headers['x-request-id']) ?? randomHexId(32);
    const trace = startServerSpan(deps.name, req.method ?? 'GET', req.headers);
    const state: RequestState = { start, requestId, route: undefined, trace, log: undefined };
    (req as WithState)[kState] = state;
    if (deferHeaders && res instanceof KitServerResponse) {
      res.pendingHeaders = deps.isDraining() ? ['x-request-id', requestId, 'traceparent', trace.traceparent, 'connection', 'close'] : ['x-request-id', requestId, 'traceparent', trace.traceparent];
    } else {
      res.setHeader('x-request-id', requestId);
      res.setHeader('traceparent', trace.traceparent);
      if (deps.isDraining()) res.setHeader('connection', 'close');
    }
    res.on('close', onResponseClose);
    return state;
  }
  return {
    begin,
    middleware: function observeRequest(req, res, next) {
      if (stateOf(req)) return next(); // begun by the raw listener, which also entered the trace context
      const state = begin(req, res);
      const endpoint = req.method === 'GET' || req.method === 'HEAD' ? operational.get(req.path) : undefined;
      if (endpoint) {
        state.route = req.path;
        context.with(state.trace.ctx, endpoint, undefined, req, res, next);
        return;
      }
      if (deps.isStarting()) {
        sendProblem(res, kitError('NOT_READY', 'The service is starting.', { headers: { 'retry-after': '1' }, extensions: { starting: true, draining: false, failing: [] } }), req.path);
        return;
      }
      context.with(state.trace.ctx, next);
    },
  };
}

/** The first middleware of every service (see Observer.middleware). */
export function observe(deps: PipelineDeps): RequestHandler {
  return observer(deps).middleware;
}

function pathOf(req: IncomingMessage): string {
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q); // the query may carry tokens; keep it out of logs
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

class HandlerContext<P, Q, B> implements RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  req: Request;
  res: Response;
  readonly #deps: PipelineDeps;
  readonly #state: RequestState;
  #signal: AbortSignal | undefined;

  constructor(deps: PipelineDeps, state: RequestState, req: Request, res: Response, input: { params: unknown; query: unknown; body: unknown }) {
    this.params = input.params as P;
    this.query = input.query as Q;
    this.body = input.body as B;
    this.req = req;
    this.res = res;
    this.#deps = deps;
    this.#state = state;
  }

  get log(): Logger {
    return requestLogger(this.#deps, this.#state);
  }

  get requestId(): string {
    return this.#state.requestId;
  }

  get traceId(): string {
    return this.#state.trace.traceId;
  }

  get signal(): AbortSignal {
    if (!this.#signal) {
      const controller = new AbortController();
      const res = this.res;
      res.once('close', () => {
        if (!res.writableFinished) controller.abort(new Error('client closed the request'));
      });
      this.#signal = controller.signal;
    }
    return this.#signal;
  }
}

interface HandlerInput {
  params: unknown;
  query: unknown;
  body: unknown;
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Writes a JSON body directly: no ETag (conditional requests are the
 * gateway's business), no charset negotiation, one write of a string.
 */
export function sendJson(res: Response, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.statusCode = status;
  if (!res.hasHeader('content-type')) res.setHeader('content-type', JSON_CONTENT_TYPE);
  res.setHeader('content-length', Buffer.byteLength(json));
  res.end(json);
}

function send(res: Response, result: { status: number; body?: unknown; headers?: Record<string, string> }): void {
  if (result.headers) res.set(result.headers);
  if (result.body === undefined) {
    res.statusCode = result.status;
    res.end();
  } else {
    sendJson(res, result.status, result.body);
  }
}

/** The Express handler chain of one declared route. */
export function routeHandlers(deps: PipelineDeps, definition: RouteDefinition): RequestHandler[] {
  const template = definition.path;
  const validates = definition.params !== undefined || definition.query !== undefined || definition.body !== undefined;
  const middleware = definition.middleware ?? [];
  function runRoute(req: Request, res: Response, next: NextFunction): void {
    const state = stateOf(req)!;
    let input: HandlerInput = { params: undefined, query: undefined, body: undefined };
    if (validates) {
      const checked = validateRequest(definition, { params: req.params, query: definition.query ? req.query : undefined, body: req.body }, deps.bodyMaxDepth);
      if (!checked.ok) {
        next(checked.error);
        return;
      }
      input = checked.value;
    }
    if (middleware.length > 0) runMiddleware(0, req, res, next, state, input);
    else runHandler(req, res, next, state, input);
  }
  function runMiddleware(index: number, req: Request, res: Response, next: NextFunction, state: RequestState, input: HandlerInput): void {
    if (index === middleware.length) {
      runHandler(req, res, next, state, input);
      return;
    }
    const proceed = (err?: unknown): void => {
      if (err) next(err);
      else context.with(state.trace.ctx, runMiddleware, undefined, index + 1, req, res, next, state, input);
    };
    try {
      const step = middleware[index]!;
      const ret = (deps.requestScope ? deps.requestScope(req, () => step(req, res, proceed)) : step(req, res, proceed)) as unknown;
      if (ret instanceof Promise) ret.catch(next);
    } catch (err) {
      next(err);
    }
  }
  function runHandler(req: Request, res: Response, next: NextFunction, state: RequestState, input: HandlerInput): void {
    const ctx = new HandlerContext(deps, state, req, res, input);
    let result: ReturnType<typeof definition.handler>;
    try {
      // Body parsing resumes from stream callbacks that do not carry the
      // request's trace context: re-enter it only when it was lost. The
      // request scope runs inside it, so what the scope adds to the context
      // (@bulwark/db's query tracking) reaches the handler.
      const traceCtx = state.trace.ctx;
      const call = () => definition.handler(ctx as never);
      const scope = deps.requestScope;
      const scoped = scope ? () => scope(req, call) : call;
      result = context.active() === traceCtx ? scoped() : context.with(traceCtx, scoped);
    } catch (err) {
      next(err);
      return;
    }
    if (result instanceof Promise) result.then((r: RouteResult<ResponseSchemas>) => send(res, r), next);
    else send(res, result);
  }
  if (!definition.body) {
    // No body to parse: one handler enters and runs the route.
    return [
      function enterAndRunRoute(req, res, next) {
        const state = stateOf(req);
        if (state) state.route = template;
        runRoute(req, res, next);
      },
    ];
  }
  return [
    function enterRoute(req, _res, next) {
      const state = stateOf(req);
      if (state) state.route = template;
      if (hasBody(req) && !JSON_TYPE.test(req.headers['content-type'] ?? '')) {
        next(kitError('UNSUPPORTED_MEDIA_TYPE', 'This route accepts application/json bodies only.'));
        return;
      }
      next();
    },
    express.json({ limit: deps.bodyLimitBytes, strict: false, type: (req) => JSON_TYPE.test(req.headers['content-type'] ?? '') }),
    runRoute,
  ];
}

/** Last regular middleware: a known path with another method is 405, anything else 404. */
export function fallthrough(deps: PipelineDeps): RequestHandler {
  return function unmatched(req, _res, next) {
    const match = deps.table.match(req.path);
    const state = stateOf(req);
    if (match) {
      if (state) state.route = match.template;
      next(kitError('METHOD_NOT_ALLOWED', `${req.method} is not supported on ${match.template}.`, { headers: { allow: match.allow.join(', ') } }));
      return;
    }
    next(kitError('ROUTE_NOT_FOUND', `No route matches ${req.method} ${pathOf(req)}.`));
  };
}

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/** Errors raised by express.json (http-errors with a `type`) become kit AppErrors. */
export function fromRequestError(err: unknown, bodyLimitBytes: number): unknown {
  if (isAppError(err) || typeof err !== 'object' || err === null) return err;
  // The router's decodeURIComponent of a path parameter (`/skus/%E0%A4`): the path, not the body, is unreadable.
  if (err instanceof URIError && (err as BodyParserError).status === 400) {
    return kitError('BAD_REQUEST', 'A path segment is not valid percent-encoded UTF-8.', { cause: err });
  }
  const { type, status } = err as BodyParserError;
  switch (type) {
    case 'entity.parse.failed':
      return kitError('MALFORMED_JSON', 'The request body is not valid JSON.', { cause: err });
    case 'entity.too.large':
      return kitError('BODY_TOO_LARGE', `The request body exceeds ${bodyLimitBytes} bytes.`, { extensions: { limitBytes: bodyLimitBytes }, cause: err });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return kitError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be UTF-8 JSON.', { cause: err });
    default:
      if (typeof status === 'number' && status >= 400 && status < 500) return kitError('BAD_REQUEST', 'The request body could not be read.', { cause: err });
      return err;
  }
}

/** Writes any error as problem+json; unexpected ones are logged with stack and leak nothing. */
export function writeProblem(deps: PipelineDeps, err: unknown, req: IncomingMessage, res: ServerResponse): void {
  const error = fromRequestError(err, deps.bodyLimitBytes);
  const state = stateOf(req);
  const problem = toProblem(error, pathOf(req));
  const log = state ? requestLogger(deps, state) : deps.log;
  if (problem.status >= 500) {
    log.error({ err: error, code: problem.body.code }, 'request failed');
    state?.trace.span.recordException(error instanceof Error ? error : String(error));
  } else if (log.isLevelEnabled('debug')) {
    log.debug({ code: problem.body.code, detail: (error as AppError).message }, 'request rejected');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = problem.status;
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
  res.end(JSON.stringify(problem.body));
}

/** Express error handler: writeProblem. */
export function problemHandler(deps: PipelineDeps) {
  return function problemMiddleware(err: unknown, req: Request, res: Response, _next: NextFunction): void {
    writeProblem(deps, err, req, res);
  };
}

/** Sends an AppError as problem+json from a handler outside the route machinery. */
export function sendProblem(res: ServerResponse, error: AppError, instance: string): void {
  const problem = toProblem(error, instance);
  res.statusCode = problem.status;
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
  res.end(JSON.stringify(problem.body));
}

/**
 * Sets the route label of a request's RED metrics and span. For handlers the
 * kit does not route itself (operational endpoints, a service's fallback);
 * `template` must come from a bounded set, never from the raw path.
 */
export function markRoute(req: object, template: string): void {
  const state = stateOf(req as IncomingMessage);
  if (state) state.route = template;
}
