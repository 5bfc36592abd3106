/**
 * Builds the gateway without listening: the kit service (health, metrics,
 * logs, problem+json), the route table and upstreams from the routes file,
 * JWT verification, the Redis rate limiter, CORS/security headers, the proxy
 * (a kit raw handler in front of Express), WebSocket upgrades,
 * /admin/state and the aggregated public API at /openapi.json. `start()` listens and returns
 * the bound address; `stop()` drains, then closes Redis and upstream pools.
 */
import { Redis } from 'ioredis';
import { z } from 'zod';
import { RateLimiter } from '@bulwark/ratelimit';
import { createService, type Service, type StartedService } from '@bulwark/service-kit';
import type { DestinationStream } from 'pino';
import type { GatewayConfig } from './config.ts';
import { gatewayError } from './errors.ts';
import { assertHasRoles, createAuthenticator, tokenMissing, type Authenticator } from './domain/authenticate.ts';
import { RouteTable } from './domain/route-table.ts';
import { loadRoutesFile, type RoutesFile } from './domain/routes-file.ts';
import { ClientLabels } from './domain/versioning.ts';
import { corsCheck, edgeHeaders, securityHeaderList, securityHeaderSetter } from './http/cors.ts';
import { publicApiProvider } from './http/openapi.ts';
import { proxyRawHandler, type ProxyDeps } from './http/proxy.ts';
import { routeRuntime, type RouteRuntime } from './http/route-runtime.ts';
import { handleUpgrades } from './http/upgrade.ts';
import { createGatewayMetrics, Upstream } from './upstreams/upstream.ts';

export interface GatewayOptions {
  config: GatewayConfig;
  /** The parsed routes file; read from GATEWAY_ROUTES_FILE when omitted. */
  routes?: RoutesFile;
  logDestination?: DestinationStream;
}

/** A kit Service (runService can run it) that also exposes its upstreams. */
export interface Gateway extends Service<GatewayConfig> {
  upstreams: ReadonlyMap<string, Upstream>;
}

export function createGateway(options: GatewayOptions): Gateway {
  const { config } = options;
  const file = options.routes ?? loadRoutesFile(config.GATEWAY_ROUTES_FILE, config.GATEWAY_UPSTREAMS);
  const needsAuth = file.routes.some((r) => r.auth !== undefined);
  const needsLimiter = file.routes.some((r) => r.rateLimits.length > 0);
  const missing: string[] = [];
  if (needsAuth && !config.JWKS_URL) missing.push('JWKS_URL (routes declare auth)');
  if (needsLimiter && !config.REDIS_URL) missing.push('REDIS_URL (routes declare rate limits)');
  if (missing.length > 0) throw gatewayError('ROUTES_FILE_INVALID', `the routes file needs configuration that is not set: ${missing.join(', ')}`);

  const authenticate: Authenticator | undefined = config.JWKS_URL
    ? createAuthenticator({
        jwksUrl: config.JWKS_URL,
        algorithms: config.JWT_ALGORITHMS,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        clockToleranceS: config.JWT_CLOCK_TOLERANCE_S,
        cooldownMs: config.JWKS_COOLDOWN_MS,
        cacheMaxAgeMs: config.JWKS_CACHE_MAX_AGE_MS,
        cacheTtlMs: config.JWT_CACHE_TTL_MS,
        cacheMaxEntries: config.JWT_CACHE_MAX_ENTRIES,
        tenantClaim: config.JWT_TENANT_CLAIM,
        rolesClaim: config.JWT_ROLES_CLAIM,
      })
    : undefined;

  const upstreams = new Map<string, Upstream>();
  const table = new RouteTable(file);
  const runtimes = new Map<string, RouteRuntime>();
  let redis: Redis | undefined;
  let proxyDeps!: ProxyDeps;
  const edge = { setSecurityHeaders: securityHeaderSetter(file.securityHeaders), securityHeaders: securityHeaderList(file.securityHeaders), cors: file.cors ? corsCheck(file.cors) : undefined };

  const service = createService({
    name: 'gateway',
    version: '0.1.0',
    config,
    ...(options.logDestination ? { logDestination: options.logDestination } : {}),
    routes(r, kit) {
      const metrics = createGatewayMetrics(kit.metrics, () => upstreams.values());
      for (const [name, upstreamConfig] of Object.entries(file.upstreams)) upstreams.set(name, new Upstream(name, upstreamConfig, kit.log, metrics));
      for (const route of table.routes) runtimes.set(route.id, routeRuntime(route, upstreams.get(route.config.upstream)!, config.BODY_LIMIT_BYTES));
      let limiter: RateLimiter | undefined;
      if (needsLimiter) {
        const client = new Redis(config.REDIS_URL!, { maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (times) => Math.min(times * 50, 500) });
        client.on('error', () => undefined); // the limiter reports Redis trouble (metrics + rate-limited logs)
        redis = client;
        limiter = new RateLimiter({
          redis: client,
          policies: file.rateLimitPolicies,
          prefix: config.RATE_LIMIT_PREFIX,
          timeoutMs: config.RATE_LIMIT_TIMEOUT_MS,
          failureMode: config.RATE_LIMIT_FAILURE_MODE,
          expectedInstances: config.GATEWAY_INSTANCES,
          registry: kit.metrics,
          logger: kit.log,
        });
        // Readiness does not depend on Redis: the failure mode covers it.
        kit.addDependency({ name: 'redis', check: async () => undefined, close: async () => void client.disconnect() });
      }
      kit.addDependency({ name: 'upstreams', check: async () => undefined, close: async () => void (await Promise.all([...upstreams.values()].map((u) => u.close()))) });
      proxyDeps = {
        table,
        runtimes,
        authenticate,
        limiter,
        metrics,
        registry: kit.metrics,
        clientLabels: new ClientLabels(file.knownClients, config.VERSION_METRIC_MAX_CLIENTS),
        trustProxyHops: config.TRUST_PROXY_HOPS,
        log: kit.log,
      };
      // Proxied requests are served before Express (no router on the hot
      // path); the kit still gives them request ids, trace context, RED
      // metrics and the log line; it refuses unknown paths itself. What
      // reaches Express (the kit's own paths) gets the same edge headers.
      // The proxy hands the trace on itself (request.propagationHeaders()), so without an SDK the kit need not enter it.
      kit.mountRawHandler(proxyRawHandler(proxyDeps, edge), { traceContext: 'explicit' });
      kit.mountFallback(edgeHeaders(edge.setSecurityHeaders, edge.cors));
      kit.publishOpenApi(publicApiProvider({ table, upstreams, adminRoles: [config.ADMIN_ROLE] }));

      r.get('/admin/state', {
        summary: 'Breaker states, bulkhead usage and the route table (admin role).',
        errors: ['TOKEN_MISSING', 'TOKEN_INVALID', 'AUTH_UNAVAILABLE', 'ROLE_MISSING'],
        responses: { 200: z.object({ upstreams: z.array(z.unknown()), routes: z.array(z.unknown()) }) },
        handler: async ({ req }) => {
          if (!authenticate) throw tokenMissing();
          const principal = await authenticate(req.headers.authorization);
          if (!principal) throw tokenMissing();
          assertHasRoles(principal, [config.ADMIN_ROLE]);
          return { status: 200, body: adminState() };
        },
      });
    },
  });

  function adminState() {
    return {
      upstreams: [...upstreams.values()].map((u) => ({
        name: u.name,
        url: u.config.url,
        breaker: { state: u.breakerState, ...(u.breaker ? { stats: { fires: u.breaker.stats.fires, failures: u.breaker.stats.failures, rejects: u.breaker.stats.rejects } } : {}) },
        bulkhead: { inFlight: u.bulkhead.inFlight, max: u.bulkhead.max },
      })),
      routes: [...runtimes.values()].map((rt) => ({
        id: rt.route.id,
        version: rt.route.version ?? null,
        match: rt.route.config.match,
        methods: rt.route.config.methods ?? null,
        upstream: rt.upstream.name,
        auth: rt.route.config.auth ?? null,
        rateLimits: rt.route.config.rateLimits,
        timeoutMs: rt.timeoutMs,
        retired: rt.lifecycle.retired !== undefined,
      })),
    };
  }

  return {
    name: service.name,
    config,
    app: service.app,
    log: service.log,
    metrics: service.metrics,
    openapi: service.openapi,
    get server() {
      return service.server;
    },
    addDependency: service.addDependency,
    onDrain: service.onDrain,
    upstreams,
    async start(): Promise<StartedService> {
      const started = await service.start();
      service.onDrain(handleUpgrades(service.server!, proxyDeps, edge.securityHeaders));
      return started;
    },
    async stop() {
      await service.stop();
      redis?.disconnect();
    },
  };
}
