/**
 * Builds the GraphQL federation gateway without listening: Apollo Server
 * over the Apollo Gateway (gateway.ts), served as the kit's POST /graphql
 * route (health, readiness, metrics, logs and shutdown like every app), with
 * depth and cost limits before execution and automatic persisted queries.
 * `prepare()` loads the supergraph; the route answers 503 until then. With
 * KAFKA_BROKERS, subscriptions (graphql-ws upgrade of the same path) deliver
 * orders' status changes (subscriptions/).
 */
import type { Request } from 'express';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import responseCachePlugin from '@apollo/server-plugin-response-cache';
import { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import type { DestinationStream } from 'pino';
import { z } from 'zod';
import { Cache } from '@bulwark/cache';
import { createKafka } from '@bulwark/events';
import { GRAPHQL_REFUSAL_CODES, refusedOperation } from '@bulwark/graphql-kit';
import { createService, propagationHeaders, type Service, type StartedService } from '@bulwark/service-kit';
import type { GraphqlConfig } from './config.ts';
import './errors.ts';
import { graphqlError } from './errors.ts';
import { createGateway, FORWARDED_HEADERS, type GatewayContext } from './gateway.ts';
import { queryLimitsPlugin } from './limits-plugin.ts';
import { createOrderStatusFeed, type OrderStatusFeed } from './subscriptions/order-status-feed.ts';
import { createSubscriptionSchema, subgraphOrderLookup } from './subscriptions/order-status-subscription.ts';
import { attachSubscriptions } from './subscriptions/ws-server.ts';

export interface GraphqlAppOptions {
  config: GraphqlConfig;
  logDestination?: DestinationStream;
}

export interface GraphqlApp {
  readonly service: Service<GraphqlConfig>;
  /** Loads the supergraph and starts Apollo Server. */
  prepare(): Promise<void>;
  /** prepare(), then listen. */
  start(): Promise<StartedService>;
}

const GraphQLRequest = z.object({
  query: z.string().max(100_000).optional().describe('The operation; may be left out when extensions.persistedQuery names one already sent.'),
  operationName: z.string().max(200).nullish(),
  variables: z.record(z.string(), z.unknown()).nullish(),
  extensions: z.record(z.string(), z.unknown()).nullish(),
});
const GraphQLResponse = z.object({ data: z.record(z.string(), z.unknown()).nullish(), errors: z.array(z.record(z.string(), z.unknown())).optional() });

function forwardedHeaders(req: Request): Record<string, string> {
  const out: Record<string, string> = { ...propagationHeaders() };
  for (const name of FORWARDED_HEADERS) {
    const value = req.get(name);
    if (value) out[name] = value;
  }
  return out;
}

/**
 * Apollo's response cache over packages/cache: a response is kept for its
 * policy's maxAge (the smallest hint of the fields it touched, the subgraphs'
 * Cache-Control folded by the gateway), keyed by tenant always and by user
 * for PRIVATE policies; nothing is read or written without a tenant.
 */
function cachedResponses(cache: Cache): ApolloServerPlugin<GatewayContext> {
  const tenantOf = (forward: Record<string, string> | undefined) => forward?.['x-auth-tenant'];
  return responseCachePlugin<GatewayContext>({
    cache: {
      get: (key: string) => cache.peek<string>(key),
      set: (key: string, value: string, options?: { ttl?: number | null }) => cache.set(key, value, options?.ttl ? { ttlMs: options.ttl * 1000 } : {}),
      delete: (key: string) => cache.delete(key).then(() => true),
    },
    sessionId: async ({ contextValue }) => contextValue.forward['x-auth-sub'] ?? null,
    extraCacheKeyData: async ({ contextValue }) => tenantOf(contextValue.forward),
    shouldReadFromCache: async ({ contextValue }) => tenantOf(contextValue.forward) !== undefined,
    shouldWriteToCache: async ({ contextValue }) => tenantOf(contextValue.forward) !== undefined,
  });
}

export function createGraphqlApp(options: GraphqlAppOptions): GraphqlApp {
  const { config } = options;
  const gateway = createGateway({
    urls: { identity: config.IDENTITY_GRAPHQL_URL, catalog: config.CATALOG_GRAPHQL_URL, orders: config.ORDERS_GRAPHQL_URL },
    supergraphPath: config.SUPERGRAPH_PATH,
    timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
  });
  let server: ApolloServer<GatewayContext> | undefined;
  let persisted: Cache | undefined;
  let responseCache: Cache | undefined;
  let started = false;
  let feed: OrderStatusFeed | undefined;

  const service = createService({
    name: 'graphql',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    routes(r, kit) {
      const refused = new Counter({ name: 'graphql_operations_refused_total', help: 'Operations refused before execution, by code (depth, cost).', labelNames: ['code'], registers: [kit.metrics] });
      const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: true, retryStrategy: (times) => Math.min(times * 50, 500) }) : undefined;
      // Persisted queries through packages/cache: L1 per instance over Redis (L2) shared by the replicas.
      const apq = new Cache({ name: 'graphql-apq', prefix: config.APQ_CACHE_PREFIX, redis, ttlMs: config.APQ_TTL_MS, registry: kit.metrics, log: kit.log });
      persisted = apq;
      // Whole responses, kept as long as the subgraphs' field-level cache hints allow (packages/graphql-kit cache-hints).
      const responses = config.RESPONSE_CACHE ? new Cache({ name: 'graphql-responses', prefix: config.RESPONSE_CACHE_PREFIX, redis, registry: kit.metrics, log: kit.log }) : undefined;
      responseCache = responses;
      server = new ApolloServer<GatewayContext>({
        gateway,
        introspection: config.GRAPHQL_INTROSPECTION,
        // Automatic persisted queries: a client sends the sha256 first and the query only when this instance does not know it.
        persistedQueries: {
          cache: {
            get: (key: string) => apq.peek<string>(key),
            set: (key: string, value: string) => apq.set(key, value),
            delete: (key: string) => apq.delete(key).then(() => true),
          },
        },
        plugins: [
          ...(responses ? [cachedResponses(responses)] : []),
          queryLimitsPlugin({ maxDepth: config.GRAPHQL_MAX_DEPTH, maxCost: config.GRAPHQL_MAX_COST, defaultListSize: config.GRAPHQL_DEFAULT_LIST_SIZE }, { refused: (code) => refused.inc({ code }) }),
        ],
        logger: kit.log,
      });
      const apollo = server;
      kit.addDependency({
        name: 'persisted-queries',
        check: async () => undefined, // Redis away: L1 serves, a client resends an unknown query once
        async close() {
          await apq.close();
          await responseCache?.close();
          redis?.disconnect();
        },
      });
      const brokers = config.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
      if (brokers.length > 0) {
        const fast = config.SUBSCRIPTIONS_FAST_CONSUMER ? { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 300, maxWaitTimeMs: 100 } : {};
        const orderFeed = createOrderStatusFeed({ kafka: createKafka({ brokers, clientId: 'graphql', log: kit.log }), topic: config.ORDERS_EVENTS_TOPIC, groupPrefix: config.SUBSCRIPTIONS_GROUP_PREFIX, registry: kit.metrics, log: kit.log, ...fast });
        feed = orderFeed;
        kit.addDependency({ name: 'order-status-feed', check: async () => undefined, close: () => orderFeed.stop() });
      }
      kit.addDependency({ name: 'supergraph', check: async () => (started ? undefined : Promise.reject(new Error('supergraph not loaded yet'))), close: () => apollo.stop() });
      r.post('/graphql', {
        summary: 'The federated GraphQL API (identity, catalog, orders): queries, depth and cost limits, automatic persisted queries',
        tags: ['graphql'],
        errors: ['GRAPHQL_NOT_READY', ...GRAPHQL_REFUSAL_CODES],
        body: GraphQLRequest,
        responses: { 200: GraphQLResponse },
        handler: async ({ req, body }) => {
          if (!started) throw graphqlError('GRAPHQL_NOT_READY', 'the supergraph is still loading');
          const headers = new HeaderMap();
          for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
          headers.set('content-type', 'application/json');
          const result = await apollo.executeHTTPGraphQLRequest({
            httpGraphQLRequest: { method: 'POST', headers, search: '', body },
            context: async () => ({ forward: forwardedHeaders(req) }),
          });
          if (result.body.kind !== 'complete') throw new Error('incremental delivery is not enabled');
          const out: Record<string, string> = {};
          // Every answer is some tenant's: shared caches (a CDN, the edge) must not keep it, whatever the hints' scope.
          const cacheControl = result.headers.get('cache-control');
          if (cacheControl) out['cache-control'] = cacheControl.replace(/\bpublic\b/, 'private');
          const age = result.headers.get('age');
          if (age) out.age = age;
          const parsed = JSON.parse(result.body.string) as z.output<typeof GraphQLResponse>;
          // Refused before execution (parse, validation, depth, cost): 400 problem+json carrying the GraphQL errors.
          if (result.status !== undefined && result.status >= 400) throw refusedOperation((parsed.errors ?? []) as { message: string; extensions?: Record<string, unknown> }[]);
          return { status: 200, body: parsed, headers: out };
        },
      });
    },
  });

  async function prepare(): Promise<void> {
    if (started) return;
    await persisted!.start();
    await server!.start();
    if (feed) {
      // Kafka away does not keep the queries unready: the feed keeps trying behind.
      await feed.startInBackground(config.SUBSCRIPTIONS_START_WAIT_MS);
      const schema = createSubscriptionSchema(feed, subgraphOrderLookup(config.ORDERS_GRAPHQL_URL, config.SUBGRAPH_TIMEOUT_MS));
      if (service.server) service.onDrain(attachSubscriptions(service.server, { path: '/graphql', schema, registry: service.metrics }));
    }
    started = true;
  }

  return {
    service,
    prepare,
    start: () => service.start({ prepare }),
  };
}
