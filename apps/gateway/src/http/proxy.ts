/**
 * The catch-all proxy chain, in order: resolve route and version, lifecycle
 * headers (or 410), authenticate and authorise, rate-limit (the
 * @bulwark/ratelimit middleware), forward. Unknown paths fall through to the
 * kit's 404/405.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, type Registry } from 'prom-client';
import { rateLimit, type Hit, type RateLimiter } from '@bulwark/ratelimit';
import { markRoute, propagationHeaders, type Logger } from '@bulwark/service-kit';
import { gatewayError } from '../errors.ts';
import { assertHasRoles, tokenMissing, type Authenticator, type Principal } from '../domain/authenticate.ts';
import { clientIpOf, upstreamRequestHeaders } from '../domain/headers.ts';
import { proxyRequest } from '../domain/proxy-request.ts';
import type { RouteTable } from '../domain/route-table.ts';
import type { ClientLabels } from '../domain/versioning.ts';
import type { GatewayMetrics } from '../upstreams/upstream.ts';
import type { RouteRuntime } from './route-runtime.ts';

export interface ProxyState {
  runtime: RouteRuntime;
  upstreamPath: string;
  clientIp: string;
  principal: Principal | undefined;
}

const kProxy = Symbol('gateway.proxy');
type WithProxy = { [kProxy]?: ProxyState };

export function proxyStateOf(req: IncomingMessage): ProxyState | undefined {
  return (req as WithProxy)[kProxy];
}

export interface ProxyDeps {
  table: RouteTable;
  runtimes: ReadonlyMap<string, RouteRuntime>;
  authenticate: Authenticator | undefined;
  limiter: RateLimiter | undefined;
  metrics: GatewayMetrics;
  registry: Registry;
  clientLabels: ClientLabels;
  trustProxyHops: number;
  log: Logger;
}

function pathAndQuery(url: string): [string, string] {
  const q = url.indexOf('?');
  return q === -1 ? [url, ''] : [url.slice(0, q), url.slice(q)];
}

/**
 * Resolves the route and identity of a request (undefined: no route, 404
 * falls through), or throws the refusal. Synchronous unless a token has to be
 * verified, so an anonymous or cached-token request takes no promise hop.
 */
export function admit(deps: ProxyDeps, req: IncomingMessage): ProxyState | undefined | Promise<ProxyState> {
  const [path, query] = pathAndQuery(req.url ?? '/');
  const acceptVersion = req.headers['accept-version'];
  const resolution = deps.table.resolve(req.method ?? 'GET', path, Array.isArray(acceptVersion) ? acceptVersion[0] : acceptVersion);
  switch (resolution.kind) {
    case 'not-found':
      return undefined;
    case 'method-not-allowed':
      throw gatewayError('GATEWAY_METHOD_NOT_ALLOWED', `${req.method} is not allowed here`, { headers: { allow: resolution.allow.join(', ') } });
    case 'unknown-version':
      throw gatewayError('VERSION_UNKNOWN', `API version ${JSON.stringify(resolution.version.slice(0, 32))} is not served`, { extensions: { knownVersions: resolution.known } });
    case 'found':
      break;
  }
  const runtime = deps.runtimes.get(resolution.route.id)!;
  markRoute(req, runtime.label);
  if (runtime.lifecycle.retired) throw runtime.lifecycle.retired;
  const upstreamPath = resolution.upstreamPath + query;
  const authorization = req.headers.authorization;
  const principal = authorization !== undefined && deps.authenticate ? deps.authenticate(authorization) : undefined;
  if (principal instanceof Promise) return principal.then((p) => admitted(deps, req, runtime, upstreamPath, p));
  return admitted(deps, req, runtime, upstreamPath, principal);
}

function admitted(deps: ProxyDeps, req: IncomingMessage, runtime: RouteRuntime, upstreamPath: string, principal: Principal | undefined): ProxyState {
  const auth = runtime.route.config.auth;
  if (auth?.required) {
    if (!principal) throw tokenMissing();
    assertHasRoles(principal, auth.roles);
  }
  const clientIp = clientIpOf(req.socket.remoteAddress, req.headers['x-forwarded-for'], deps.trustProxyHops);
  return { runtime, upstreamPath, clientIp, principal };
}

/** Identity headers the gateway sets upstream; x-auth-* from the client never pass (see headers.ts). */
export function identityHeaders(state: ProxyState, requestId: string | undefined): Record<string, string> {
  const set = propagationHeaders(); // a fresh object
  if (requestId) set['x-request-id'] = requestId;
  const { principal, runtime } = state;
  if (principal) {
    set['x-auth-sub'] = principal.sub;
    if (principal.tenant !== undefined) set['x-auth-tenant'] = principal.tenant;
    set['x-auth-roles'] = principal.roles.join(',');
  }
  if (runtime.route.version) set['x-api-version'] = runtime.route.version;
  return set;
}

export function hitsOf(state: ProxyState): Hit[] {
  const hits: Hit[] = [];
  for (const ref of state.runtime.route.config.rateLimits) {
    let subject: string;
    switch (ref.by) {
      case 'ip':
        subject = state.clientIp;
        break;
      case 'user':
        subject = state.principal ? `u:${state.principal.sub}` : `ip:${state.clientIp}`;
        break;
      case 'tenant':
        subject = state.principal?.tenant ? `t:${state.principal.tenant}` : `ip:${state.clientIp}`;
        break;
      case 'route':
        subject = state.runtime.route.id;
        break;
    }
    hits.push({ policy: ref.policy, subject });
  }
  return hits;
}

export function proxyHandlers(deps: ProxyDeps): RequestHandler[] {
  const versionCalls = new Counter({
    name: 'gateway_version_calls_total',
    help: 'Proxied calls per API version and client (authenticated sub; bounded: known clients + first N, rest "other").',
    labelNames: ['version', 'client'] as const,
    registers: [deps.registry],
  });
  const enter = (req: Request, res: Response, next: NextFunction, state: ProxyState | undefined): void => {
    if (!state) return next();
    (req as WithProxy)[kProxy] = state;
    for (const [name, value] of state.runtime.lifecycleHeaders) res.setHeader(name, value);
    if (state.runtime.route.version) versionCalls.inc({ version: state.runtime.route.version, client: deps.clientLabels.labelOf(state.principal?.sub) });
    next();
  };
  const refuse = (req: Request, next: NextFunction, err: unknown): void => {
    logRejection(deps.log, req, err);
    next(err);
  };
  const resolveRoute: RequestHandler = (req, res, next) => {
    let state: ReturnType<typeof admit>;
    try {
      state = admit(deps, req);
    } catch (err) {
      return refuse(req, next, err);
    }
    if (state instanceof Promise) state.then((s) => enter(req, res, next, s), (err: unknown) => refuse(req, next, err));
    else enter(req, res, next, state);
  };
  const handlers: RequestHandler[] = [resolveRoute];
  if (deps.limiter) {
    handlers.push(rateLimit({ limiter: deps.limiter, policies: (req) => (proxyStateOf(req) ? hitsOf(proxyStateOf(req)!) : []) }));
  }
  handlers.push(function forward(req: Request, res: Response, next: NextFunction) {
    const state = proxyStateOf(req);
    if (!state) return next();
    const { runtime } = state;
    const headers = upstreamRequestHeaders(req.headers, {
      clientIp: state.clientIp,
      trustProxyHops: deps.trustProxyHops,
      proto: 'http',
      set: identityHeaders(state, res.getHeader('x-request-id') as string | undefined),
    });
    proxyRequest({
      req,
      res,
      upstream: runtime.upstream,
      path: state.upstreamPath,
      headers,
      timeoutMs: runtime.timeoutMs,
      retry: runtime.retry,
      maxBodyBytes: runtime.maxBodyBytes,
      metrics: deps.metrics,
      log: deps.log,
    }).catch((err: unknown) => {
      logRejection(deps.log, req, err);
      next(err);
    });
  });
  return handlers;
}

/** Refusals are security-relevant: one line each, with the code, never the token. */
function logRejection(log: Logger, req: IncomingMessage, err: unknown): void {
  const code = (err as { code?: unknown }).code;
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status < 500) {
    log.info({ code, status, method: req.method, path: (req.url ?? '').split('?')[0], reqId: req.headers['x-request-id'] }, 'request refused');
  }
}
