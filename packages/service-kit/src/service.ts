/**
 * createService: one Express 5 app with the platform's cross-cutting behaviour
 * (config, logs, metrics, tracing, health, OpenAPI, problem+json errors,
 * graceful shutdown). Building the service does not listen; `start()` does and
 * returns the bound address, `stop()` drains and releases everything.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context } from '@opentelemetry/api';
import express, { type Express, type RequestHandler } from 'express';
import type { DestinationStream, Logger } from 'pino';
import type { BaseConfig } from './config.ts';
import { answerClientErrors } from './client-errors.ts';
import { kitError } from './errors.ts';
import { checkDependencies, closeDependencies, type Dependency, type FailedCheck } from './health.ts';
import { fallthrough, markRoute, observer, problemHandler, routeHandlers, sendJson, sendProblem, type PipelineDeps, type RequestState } from './http-pipeline.ts';
import { applyPendingHeaders, KitServerResponse } from './kit-response.ts';
import { KitRawRequest, type RawRequestHandler } from './raw-requests.ts';
import { createLogger } from './logger.ts';
import { createHttpMetrics, type Registry } from './metrics.ts';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi.ts';
import { RouteTable, templateParams, type HttpMethod } from './route-table.ts';
import type { RouteDefinition, RouteRegistrar, RouteSpec } from './routes.ts';
import { ensureContextManager, tracerProviderRegistered } from './tracing.ts';

export interface ServiceKit<C extends BaseConfig> {
  config: C;
  log: Logger;
  metrics: Registry;
  addDependency(dependency: Dependency): void;
  /**
   * Mounts handlers that see every request no declared route answered, in
   * front of the kit's 404/405 (a proxy's catch-all). They may call
   * `markRoute` to label what they serve.
   */
  mountFallback(...handlers: RequestHandler[]): void;
  /**
   * Registers a handler that runs before Express for every request whose path
   * is not the kit's (declared routes, /healthz, /readyz, /metrics,
   * /openapi.json), with the kit's observability already begun (request id,
   * trace context, RED metrics, log line). Handlers run in registration
   * order until one returns true; if none does, Express takes the request.
   * For hot paths that do not need the router (a proxy).
   */
  mountRawHandler(handler: RawRequestHandler, options?: RawHandlerOptions): void;
  /**
   * Replaces what /openapi.json serves: `provider` receives the document built
   * from this service's routes and returns the one to publish (the gateway's
   * aggregated API). Called for each request to /openapi.json; cache inside.
   */
  publishOpenApi(provider: (own: OpenApiDocument) => Promise<object> | object): void;
}

export interface RawHandlerOptions {
  /**
   * `'active'` (default): the request's trace context is active while the
   * handler runs and through its awaits. `'explicit'`: the handler carries
   * the trace itself (`request.propagationHeaders()`, `request.traceContext`).
   * When every raw handler is explicit and no tracing SDK is registered, the
   * kit does not enter the context at all (nothing but the handler could read
   * it), which saves building it for each request. With an SDK it is entered
   * either way, so instrumented clients (undici, ioredis) parent their spans
   * on the request's server span.
   */
  traceContext?: 'active' | 'explicit';
  /**
   * Declared route templates this handler answers first (a hot path that is
   * also a documented route): the route stays in the OpenAPI document and
   * Express answers whatever the handler declines (e.g. input it would
   * refuse, which the route's validation then explains).
   */
  serves?: readonly string[];
}

export interface ServiceOptions<C extends BaseConfig> {
  /** Service name: logs, metrics `service` label, tracer name, OpenAPI title. */
  name: string;
  version?: string;
  /** Output of loadConfig on a schema extending baseConfigSchema. */
  config: C;
  /** Registers the service's routes; runs once, inside createService. */
  routes?: (router: RouteRegistrar, kit: ServiceKit<C>) => void;
  /** Checked by /readyz, closed in reverse order at shutdown. */
  dependencies?: readonly Dependency[];
  /** Log destination (default stdout), e.g. `pino.destination('/dev/null')` or a test stream. */
  logDestination?: DestinationStream;
  /** Extra pino redaction paths. */
  redactPaths?: readonly string[];
  /** Collect prom-client's default process metrics (default true). */
  defaultMetrics?: boolean;
  /**
   * Wraps each route's middleware and handler, e.g. to enter the verified
   * tenant into AsyncLocalStorage (`withRequestTenant` of @bulwark/db). Entered
   * around every step, since body parsing resumes outside the request's async
   * context. May throw (an AppError becomes problem+json).
   */
  requestScope?: <T>(req: IncomingMessage, run: () => T) => T;
  /** Registered error codes the requestScope (or what runs inside it) may answer any route with: documented on every route. */
  requestScopeErrors?: readonly string[];
}

export interface StartedService {
  url: string;
  port: number;
}

export interface StartOptions {
  /**
   * Work the service needs before it can serve (migrations, queues,
   * workers). The server listens first, so /healthz answers (and a startup
   * probe passes) while this runs; meanwhile /readyz is 503 NOT_READY with
   * `starting: true` and every other request 503 NOT_READY with Retry-After.
   * Ready when it resolves; when it rejects the listener closes and start
   * rejects with its error.
   */
  prepare?: () => Promise<void>;
}

export interface Service<C extends BaseConfig = BaseConfig> {
  readonly name: string;
  readonly config: C;
  /** The Express app, for anything the kit does not cover (prefer routes). */
  readonly app: Express;
  readonly log: Logger;
  /** This service's Prometheus registry; register custom metrics with `registers: [service.metrics]`. */
  readonly metrics: Registry;
  readonly openapi: OpenApiDocument;
  /** The listening server once started. */
  readonly server: Server | undefined;
  addDependency(dependency: Dependency): void;
  /**
   * Runs `hook` when the drain begins (the listener no longer accepts): for
   * connections the server no longer tracks as HTTP, such as upgraded
   * WebSockets, which would otherwise hold the listener's close until the
   * process is killed. The hook ends them (e.g. close 1001).
   */
  onDrain(hook: () => void | Promise<void>): void;
  /** Listens on config.HOST:config.PORT (0 = any free port); with `prepare`, ready when it has run. */
  start(options?: StartOptions): Promise<StartedService>;
  /**
   * Readiness goes false, the listener closes, in-flight requests drain for
   * up to SHUTDOWN_TIMEOUT_MS (then sockets are destroyed), dependencies close
   * in reverse order. Idempotent.
   */
  stop(): Promise<void>;
}

export function createService<C extends BaseConfig>(options: ServiceOptions<C>): Service<C> {
  ensureContextManager();
  const { name, config } = options;
  const version = options.version ?? '0.0.0';
  const log = createLogger({ name, version, level: config.LOG_LEVEL, destination: options.logDestination, redactPaths: options.redactPaths });
  const metrics = createHttpMetrics(name, options.defaultMetrics ?? true);
  const dependencies: Dependency[] = [...(options.dependencies ?? [])];
  const table = new RouteTable();
  const definitions: RouteDefinition[] = [];
  let server: Server | undefined;
  let draining = false;
  let starting = false;
  let stopping: Promise<void> | undefined;
  const drainHooks: Array<() => void | Promise<void>> = [];
  let idleSweepScheduled = false;
  const operationalEndpoints = new Map<string, RequestHandler>();

  const deps: PipelineDeps = {
    name,
    log,
    metrics,
    table,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    bodyMaxDepth: config.BODY_MAX_DEPTH,
    requestScope: options.requestScope,
    operational: operationalEndpoints,
    isDraining: () => draining,
    isStarting: () => starting,
    onResponseWhileDraining() {
      if (idleSweepScheduled || !server) return;
      idleSweepScheduled = true;
      setImmediate(() => {
        idleSweepScheduled = false;
        server?.closeIdleConnections();
      });
    },
  };

  const app = express();
  app.disable('x-powered-by');
  const observation = observer(deps);
  app.use(observation.middleware);

  // Operational endpoints: observe answers their exact paths before the
  // router; the router layers registered after the application routes keep
  // Express's matching for the rest (trailing slash, case).
  const operationalLayers: [string, RequestHandler][] = [];
  const operational = (path: string, handler: RequestHandler): void => {
    table.add('GET', path);
    operationalEndpoints.set(path, handler);
    operationalLayers.push([path, handler]);
  };
  operational('/healthz', (_req, res) => {
    sendJson(res, 200, { status: 'ok' });
  });
  operational('/readyz', async (req, res) => {
    if (starting && !draining) return sendProblem(res, kitError('NOT_READY', 'The service is starting.', { extensions: { starting: true, draining: false, failing: [] } }), req.path);
    if (draining) return sendProblem(res, kitError('NOT_READY', 'The service is shutting down.', { extensions: { draining: true, failing: [] } }), req.path);
    const failed = await checkDependencies(dependencies, config.READINESS_TIMEOUT_MS);
    const gates = (f: FailedCheck) => dependencies.find((d) => d.name === f.name)?.gatesReadiness !== false;
    const failing = failed.filter(gates).map((f) => ({ name: f.name, reason: f.reason }));
    const degraded = failed.filter((f) => !gates(f)).map((f) => ({ name: f.name, reason: f.reason }));
    // A degraded part is reported on every probe; its owner logs when it goes down and up.
    for (const f of failed) log[gates(f) ? 'warn' : 'debug']({ dependency: f.name, reason: f.reason, err: f.error }, 'readiness check failed');
    if (draining) return sendProblem(res, kitError('NOT_READY', 'The service is shutting down.', { extensions: { draining: true, failing: [] } }), req.path);
    if (failing.length > 0) {
      return sendProblem(res, kitError('NOT_READY', `Not ready: ${failing.map((f) => `${f.name} (${f.reason})`).join(', ')}.`, { extensions: { draining: false, failing, degraded } }), req.path);
    }
    sendJson(res, 200, { status: 'ready', dependencies: dependencies.map((d) => d.name), ...(degraded.length > 0 && { degraded }) });
  });
  operational('/metrics', async (_req, res) => {
    res.setHeader('content-type', metrics.registry.contentType);
    res.end(await metrics.registry.metrics());
  });

  const register = (definition: RouteDefinition): void => {
    const declared = definition.params ? Object.keys(definition.params.shape) : [];
    const inPath = templateParams(definition.path);
    const missing = inPath.filter((p) => !declared.includes(p));
    const extra = declared.filter((p) => !inPath.includes(p));
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(`route ${definition.method} ${definition.path}: params schema must declare exactly ${JSON.stringify(inPath)}`);
    }
    table.add(definition.method, definition.path);
    definitions.push(definition);
    const method = definition.method.toLowerCase() as Lowercase<HttpMethod>;
    app[method](definition.path, ...routeHandlers(deps, definition));
  };
  const verb =
    (method: HttpMethod) =>
    (path: string, spec: RouteSpec<never, never, never, never>): void =>
      register({ ...(spec as unknown as RouteSpec<undefined, undefined, undefined, never>), method, path } as unknown as RouteDefinition);
  const router = {
    route: (definition: RouteDefinition) => register(definition),
    get: verb('GET'),
    post: verb('POST'),
    put: verb('PUT'),
    patch: verb('PATCH'),
    delete: verb('DELETE'),
  } as unknown as RouteRegistrar;

  const addDependency = (dependency: Dependency): void => {
    if (dependencies.some((d) => d.name === dependency.name)) throw new Error(`dependency ${dependency.name} is already registered`);
    dependencies.push(dependency);
  };

  const fallbacks: RequestHandler[] = [];
  const rawHandlers: RawRequestHandler[] = [];
  let rawHandlersReadContext = false;
  let openapiProvider: ((own: OpenApiDocument) => Promise<object> | object) | undefined;
  const rawServed = new Set<string>();
  options.routes?.(router, {
    config,
    log,
    metrics: metrics.registry,
    addDependency,
    mountFallback: (...handlers) => void fallbacks.push(...handlers),
    mountRawHandler: (handler, options) => {
      rawHandlers.push(handler);
      for (const template of options?.serves ?? []) rawServed.add(template);
      if (options?.traceContext !== 'explicit') rawHandlersReadContext = true;
    },
    publishOpenApi: (provider) => {
      openapiProvider = provider;
    },
  });

  const openapi = buildOpenApiDocument({ title: name, version }, definitions, options.requestScopeErrors ?? []);
  const openapiJson = JSON.stringify(openapi);
  operational('/openapi.json', (_req, res, next) => {
    const provider = openapiProvider;
    if (!provider) {
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(openapiJson);
      return;
    }
    Promise.resolve()
      .then(() => provider(openapi))
      .then((doc) => sendJson(res, 200, doc), next);
  });
  for (const [path, handler] of operationalLayers) {
    app.get(path, (req, res, next) => {
      markRoute(req, path);
      return handler(req, res, next);
    });
  }

  if (fallbacks.length > 0) app.use(...fallbacks);
  app.use(fallthrough(deps));
  app.use(problemHandler(deps));

  /**
   * True when Express must see the path: a declared route or operational
   * endpoint, matched as Express does (case-insensitive, one optional
   * trailing slash). Literal templates are a set lookup; the route table
   * is consulted only if some template has parameters.
   */
  let kitPaths: { literal: ReadonlySet<string>; withParams: boolean } | undefined;
  const isKitPath = (url: string): boolean => {
    kitPaths ??= {
      literal: new Set(table.templates().filter((t) => !t.includes(':') && !rawServed.has(t)).map((t) => t.toLowerCase())),
      withParams: table.templates().some((t) => t.includes(':')),
    };
    const q = url.indexOf('?');
    let path = q === -1 ? url : url.slice(0, q);
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    if (kitPaths.literal.has(path) || kitPaths.literal.has(path.toLowerCase())) return true;
    if (!kitPaths.withParams) return false;
    const match = table.match(path) ?? table.match(path.toLowerCase());
    return match !== undefined && !rawServed.has(match.template);
  };
  function serveRaw(req: IncomingMessage, res: ServerResponse, state: RequestState): void {
    const request = new KitRawRequest(deps, state, req, res);
    for (const handler of rawHandlers) {
      try {
        if (handler(req, res, request)) return;
      } catch (err) {
        request.fail(err);
        return;
      }
    }
    applyPendingHeaders(res); // Express writes through its own prototype
    if (context.active() === state.trace.ctx) app(req, res);
    else context.with(state.trace.ctx, app, undefined, req, res); // not entered for explicit raw handlers; Express's routes expect it
  }
  /** The server's request listener: raw handlers first (outside the kit's paths), then Express. */
  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (rawHandlers.length === 0 || starting || isKitPath(req.url ?? '/')) {
      app(req, res);
      return;
    }
    const state = observation.begin(req, res, true);
    if (rawHandlersReadContext || tracerProviderRegistered()) context.with(state.trace.ctx, serveRaw, undefined, req, res, state);
    else serveRaw(req, res, state);
  }

  async function start(startOptions: StartOptions = {}): Promise<StartedService> {
    if (server) throw new Error(`service ${name} is already started`);
    if (stopping) throw new Error(`service ${name} was stopped; create a new one`);
    // optimizeEmptyRequests: a request without Content-Length or
    // Transfer-Encoding has no body (RFC 9112 §6.3), so node hands it over
    // already ended, without the 'data'/'end'/'close' stream life cycle. Fewer
    // instructions per GET (measured in the gateway bench, 2026-12-06; the pass is in the git history
    // of docs/PERFORMANCE.md, `git show f26244a:docs/PERFORMANCE.md`).
    const s = createServer({ ServerResponse: KitServerResponse, optimizeEmptyRequests: true }, onRequest);
    answerClientErrors(s, log); // oversized or unparsable heads: problem+json, not a bare status line
    server = s;
    starting = startOptions.prepare !== undefined;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen({ port: config.PORT, host: config.HOST }, () => {
        s.off('error', reject);
        resolve();
      });
    });
    const { port } = s.address() as AddressInfo;
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    log.info({ url, port }, 'listening');
    if (startOptions.prepare) {
      try {
        await startOptions.prepare();
      } catch (err) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
        throw err;
      }
      starting = false;
      log.info({ url, port }, 'ready');
    }
    return { url, port };
  }

  async function drain(s: Server): Promise<void> {
    if (config.SHUTDOWN_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DELAY_MS));
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeIdleConnections(); // keep-alive sockets with no request in flight must not hold shutdown
    // Upgraded sockets are no HTTP connections any more: closeAllConnections would not end them, their owners do.
    await Promise.all(drainHooks.map((hook) => Promise.resolve().then(hook).catch((err: unknown) => log.error({ err }, 'drain hook failed'))));
    const deadline = setTimeout(() => {
      log.warn({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'drain deadline passed; destroying remaining connections');
      s.closeAllConnections();
    }, config.SHUTDOWN_TIMEOUT_MS);
    await closed;
    clearTimeout(deadline);
  }

  function stop(): Promise<void> {
    stopping ??= (async () => {
      draining = true;
      log.info('draining');
      if (server) await drain(server);
      await closeDependencies(dependencies, log);
      log.info('stopped');
    })();
    return stopping;
  }

  return {
    name,
    config,
    app,
    log,
    metrics: metrics.registry,
    openapi,
    get server() {
      return server;
    },
    addDependency,
    onDrain: (hook) => void drainHooks.push(hook),
    start,
    stop,
  };
}
