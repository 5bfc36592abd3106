/**
 * Every configuration key of the GraphQL federation gateway, with type,
 * default and meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@bulwark/service-kit';

export const graphqlConfigSchema = baseConfigSchema.extend({
  IDENTITY_GRAPHQL_URL: z.url().describe("identity's subgraph endpoint (POST …/graphql)."),
  CATALOG_GRAPHQL_URL: z.url().describe("catalog's subgraph endpoint."),
  ORDERS_GRAPHQL_URL: z.url().describe("orders' subgraph endpoint."),
  SUPERGRAPH_PATH: z.string().min(1).optional().describe('Composed supergraph SDL served (default: the supergraph.graphql checked in beside src/, written by `npm run compose -w apps/graphql`).'),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().positive().default(10).describe('Deepest selection an operation may have; deeper ones are refused before execution (400 GRAPHQL_QUERY_TOO_DEEP).'),
  GRAPHQL_MAX_COST: z.coerce.number().int().positive().default(5_000).describe('Largest cost (fields times the list sizes above them) an operation may have; costlier ones are refused before execution (400 GRAPHQL_QUERY_TOO_COSTLY).'),
  GRAPHQL_DEFAULT_LIST_SIZE: z.coerce.number().int().positive().default(10).describe('Items a list field without first/limit counts for in the cost.'),
  GRAPHQL_INTROSPECTION: z.enum(['true', 'false']).transform((v) => v === 'true').default(true).describe('Answer introspection queries (schema explorers, codegen).'),
  REDIS_URL: z.string().min(1).optional().describe('Redis shared by the replicas for automatic persisted queries (a hash one replica learnt answers on every one); unset: each instance keeps its own in memory.'),
  APQ_CACHE_PREFIX: z.string().min(1).default('graphql-apq').describe('Key prefix of the persisted queries in Redis.'),
  APQ_TTL_MS: z.coerce.number().int().positive().default(86_400_000).describe('How long a persisted query is kept after it was last sent in full.'),
  RESPONSE_CACHE: z.enum(['true', 'false']).transform((v) => v === 'true').default(true).describe("Keep whole query responses for as long as the subgraphs' field-level cache hints allow (the smallest maxAge the operation touched), per tenant, and per user for PRIVATE hints; in memory and Redis (packages/cache)."),
  RESPONSE_CACHE_PREFIX: z.string().min(1).default('graphql-responses').describe('Key prefix of cached responses in Redis.'),
  KAFKA_BROKERS: z.string().min(1).optional().describe("Comma-separated Kafka bootstrap brokers. Set: subscriptions (graphql-ws on /graphql) deliver orders' status changes read from ORDERS_EVENTS_TOPIC. Unset: subscriptions are off (an upgrade is answered 404)."),
  ORDERS_EVENTS_TOPIC: z.string().min(1).default('orders.events').describe("orders' events topic (apps/orders ORDERS_TOPIC)."),
  SUBSCRIPTIONS_GROUP_PREFIX: z.string().min(1).default('graphql-subscriptions').describe('Prefix of the consumer group of each instance (prefix + random id: every instance reads every event).'),
  SUBSCRIPTIONS_START_WAIT_MS: z.coerce.number().int().nonnegative().default(10_000).describe("How long readiness waits for the subscriptions' consumer group to be joined before it goes on (the feed keeps trying behind)."),
  SUBSCRIPTIONS_FAST_CONSUMER: z.enum(['true', 'false']).transform((v) => v === 'true').default(false).describe('Short consumer timings (tests against the one local broker).'),
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000).describe('Timeout of one call to a subgraph.'),
});

export type GraphqlConfig = z.output<typeof graphqlConfigSchema>;

export function loadGraphqlConfig(env: Record<string, string | undefined> = process.env): GraphqlConfig {
  return loadConfig(graphqlConfigSchema, env);
}
