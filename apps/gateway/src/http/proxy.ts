/**
 * The proxy, in order: security headers and CORS, resolve route and version,
 * lifecycle headers (or 410), authenticate and authorise, rate-limit (one
 * @bulwark/ratelimit check for all the route's policies), forward. It runs as
 * a service-kit raw handler, before Express, for every path that is not the
 * kit's own; each refusal, 404 included, goes through refusal.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { decisionError, formatPolicyHeader, formatRateLimitHeader, type Decision, type Hit, type RateLimiter } from '@bulwark/ratelimit';
import { markRoute, propagationHeaders, type Logger, type RawRequest, type RawRequestHandler } from '@bulwark/service-kit';
import { gatewayError } from '../errors.ts';
import { assertHasRoles, tenantMissing, tokenMissing, type Authenticator, type Principal } from '../domain/authenticate.ts';
import { clientIpOf, upstreamRequestHeaders, type OutgoingHeaders } from '../domain/headers.ts';
import { proxyRequest } from './proxy-request.ts';
import { tenantPath, type RouteTable } from '../domain/route-table.ts';
import type { ClientLabels } from '../domain/versioning.ts';
import type { GatewayMetrics } from '../upstreams/upstream.ts';
import { PREFLIGHT_ANSWERED, type CorsCheck } from './cors.ts';
import { refuse } from './refusal.ts';
import type { RouteRuntime } from './route-runtime.ts';

export interface ProxyState {
  runtime: RouteRuntime;
  upstreamPath: string;
  clientIp: string;
  principal: Principal | undefined;
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
 * Resolves the route and identity of a request (undefined: no route), or
 * throws the refusal. Synchronous unless a token has to be
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
  // A route whose upstream authenticates the client (identity's /oidc/token with HTTP Basic) takes the
  // Authorization header as sent: no principal, nothing verified or refused here, forwarded unchanged.
  const authorization = runtime.route.config.upstreamAuthenticates ? undefined : req.headers.authorization;
  const principal = authorization !== undefined && deps.authenticate ? deps.authenticate(authorization, req.socket) : undefined;
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
  if (runtime.route.tenantScoped) {
    // Validation guarantees auth.required, so a principal is here; a token without a tenant cannot use a tenant route.
    if (principal?.tenant === undefined || principal.tenant === '') throw tenantMissing();
    return { runtime, upstreamPath: tenantPath(runtime.route, upstreamPath, principal.tenant), clientIp, principal };
  }
  return { runtime, upstreamPath, clientIp, principal };
}

/** Identity headers the gateway sets upstream; x-auth-* from the client never pass (see headers.ts). */
function identityHeaders(state: ProxyState, requestId: string | undefined, tracing?: Record<string, string>): Record<string, string> {
  const set = tracing ?? propagationHeaders(); // a fresh object
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

/**
 * True when the client's Authorization stops at the gateway: it verified the
 * token and the route does not set `auth.forwardToken` (as Envoy's jwt_authn
 * with `forward: false`). Upstreams get the claims as x-auth-*; a bearer token
 * that never reaches them cannot leak from their logs or be replayed by them.
 */
function dropsToken(state: ProxyState): boolean {
  return state.principal !== undefined && state.runtime.route.config.auth?.forwardToken !== true;
}

/**
 * The request headers an admitted request takes upstream, proxied or
 * upgraded: the client's (hygiene in headers.ts), X-Forwarded-*, the identity
 * and version headers, the request id and trace context when given.
 */
export function upstreamHeadersOf(deps: ProxyDeps, req: IncomingMessage, state: ProxyState, requestId?: string, tracing?: Record<string, string>): OutgoingHeaders {
  return upstreamRequestHeaders(req.headers, {
    clientIp: state.clientIp,
    trustProxyHops: deps.trustProxyHops,
    proto: 'http',
    set: identityHeaders(state, requestId, tracing),
    dropAuthorization: dropsToken(state),
  });
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

interface HitsMemo {
  clientIp: string;
  hits: readonly Hit[];
}

/**
 * The rate-limit hits of a route for one identity, built once: one frozen
 * array per (verified principal, or the connection of an anonymous request;
 * route) while the client IP stays the same. @bulwark/ratelimit keeps the
 * state keys it built for a frozen array, so a returning identity costs no
 * key building and no string hashing (the lease table's Map lookups).
 * Principals are cached per token (authenticate.ts) and connections are
 * kept alive, so both recur; both are held weakly.
 */
export class HitsCache {
  readonly #byHolder = new WeakMap<object, Map<RouteRuntime, HitsMemo>>();

  get(state: ProxyState, connection: object): readonly Hit[] {
    const holder: object = state.principal ?? connection;
    let byRoute = this.#byHolder.get(holder);
    const memo = byRoute?.get(state.runtime);
    if (memo !== undefined && memo.clientIp === state.clientIp) return memo.hits;
    const hits = Object.freeze(hitsOf(state).map((hit) => Object.freeze(hit)));
    if (byRoute === undefined) this.#byHolder.set(holder, (byRoute = new Map()));
    byRoute.set(state.runtime, { clientIp: state.clientIp, hits });
    return hits;
  }
}

export interface EdgeHeaders {
  /** The security headers as a flat list, pushed to each proxied request's responseHeaders. */
  securityHeaders: readonly string[];
  cors: CorsCheck | undefined;
}

/**
 * The proxy as a kit raw handler, in front of Express: security headers and
 * CORS, route and identity (admit), lifecycle headers, the version metric,
 * rate limits, forward. It never declines: a path with no gateway route is
 * refused here too (404 GATEWAY_ROUTE_NOT_FOUND). Every refusal goes through
 * `refuse` (refusal.ts); the kit's observability
 * (x-request-id, traceparent, RED metrics with the `proxy:<id>` label, span,
 * log line) was begun by the kit before this runs.
 */
export function proxyRawHandler(deps: ProxyDeps, edge: EdgeHeaders): RawRequestHandler {
  const versionCalls = new Counter({
    name: 'gateway_version_calls_total',
    help: 'Proxied calls per API version and client (authenticated sub; bounded: known clients + first N, rest "other").',
    labelNames: ['version', 'client'] as const,
    registers: [deps.registry],
  });
  const { limiter } = deps;
  const hitsCache = new HitsCache();
  const { log } = deps;
  const forward = (req: IncomingMessage, res: ServerResponse, request: RawRequest, state: ProxyState): void => {
    const { runtime } = state;
    const headers = upstreamHeadersOf(deps, req, state, request.requestId, request.propagationHeaders());
    proxyRequest({
      req,
      res,
      upstream: runtime.upstream,
      path: state.upstreamPath,
      headers,
      deadlines: runtime.deadlines,
      retry: runtime.retry,
      maxBodyBytes: runtime.maxBodyBytes,
      metrics: deps.metrics,
      log: deps.log,
      onClose: (listener) => request.onClose(listener),
    }).catch((err: unknown) => refuse(log, req, request, err));
  };
  const enter = (req: IncomingMessage, res: ServerResponse, request: RawRequest, state: ProxyState): void => {
    // Fields for the response head go to request.responseHeaders: written
    // with the upstream's head in one writeHead (or applied by a refusal).
    const fields = request.responseHeaders;
    const lifecycle = state.runtime.lifecycleHeaders;
    for (let i = 0; i < lifecycle.length; i++) fields.push(lifecycle[i]!);
    if (state.runtime.route.version) versionCalls.inc({ version: state.runtime.route.version, client: deps.clientLabels.labelOf(state.principal?.sub) });
    const hits = limiter && state.runtime.route.config.rateLimits.length > 0 ? hitsCache.get(state, req.socket) : NO_HITS;
    if (hits.length === 0) {
      forward(req, res, request, state);
      return;
    }
    const decide = (decision: Decision): void => {
      if (decision.allowed) {
        if (decision.policies.length > 0) fields.push('ratelimit-policy', formatPolicyHeader(decision), 'ratelimit', formatRateLimitHeader(decision));
        forward(req, res, request, state);
        return;
      }
      refuse(log, req, request, decisionError(decision)); // 429 with its RateLimit fields, or 503 failing closed
    };
    // Leased policies with units left on this instance: decided here, no promise hop.
    const local = limiter!.tryLocal(hits);
    if (local !== undefined) {
      decide(local);
      return;
    }
    limiter!
      .check(hits)
      .then(decide)
      .catch((err: unknown) => refuse(log, req, request, err));
  };
  return function serveProxied(req, res, request) {
    const fields = request.responseHeaders;
    const security = edge.securityHeaders;
    for (let i = 0; i < security.length; i++) fields.push(security[i]!);
    if (edge.cors) {
      const outcome = edge.cors(req, res);
      if (outcome === PREFLIGHT_ANSWERED) return true;
      if (outcome) {
        refuse(log, req, request, outcome);
        return true;
      }
    }
    let state: ReturnType<typeof admit>;
    try {
      state = admit(deps, req);
    } catch (err) {
      refuse(log, req, request, err);
      return true;
    }
    if (state === undefined) {
      refuse(log, req, request, gatewayError('GATEWAY_ROUTE_NOT_FOUND', 'no gateway route matches this path'));
      return true;
    }
    if (state instanceof Promise) {
      state.then((s) => enter(req, res, request, s)).catch((err: unknown) => refuse(log, req, request, err));
    } else {
      enter(req, res, request, state);
    }
    return true;
  };
}

const NO_HITS: readonly Hit[] = Object.freeze([]);
