/**
 * Every configuration key of the catalog service, with type, default and
 * meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@bulwark/service-kit';

const tenant = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/);

export const catalogConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe("PostgreSQL URL of the tables' owner: migrations, extensions, grants and the seed at start."),
  CATALOG_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('catalog').describe('PostgreSQL schema of categories, products, variants and search terms.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(20).describe('Largest PostgreSQL pool size.'),
  REDIS_URL: z.string().min(1).optional().describe('Redis of the product cache (L2 and invalidation across instances); unset: an in-process cache only.'),
  PRODUCT_CACHE_TTL_MS: z.coerce.number().int().positive().default(60_000).describe('Freshness of a cached product (jittered 10%).'),
  SEARCH_BROAD_HITS: z.coerce.number().int().positive().default(5_000).describe('A search whose rarest word is in at least this many products (names, brands, tags), without filters and in relevance or popularity order, ranks only its 200 most popular matches; its total and facets are then estimates (`approximate` in the answer).'),
  PRODUCT_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(30).describe('Cache-Control max-age of GET /v1/products/:id (ETag revalidation after it).'),
  CATALOG_SEED_TENANT: tenant.optional().describe('When set, start loads the demo catalog for this tenant once (idempotent: existing slugs are kept). `npm run up` sets the demo tenant.'),
  CATALOG_SEED_COUNT: z.coerce.number().int().min(0).max(1_000_000).default(3_000).describe('Products of the demo catalog (the hand-written anchors plus generated ones).'),
  CATALOG_DEMO_ROUTE: z.enum(['true', 'false']).transform((v) => v === 'true').default(false).describe("Serve POST /v1/products/demo-catalog (admin): loads the demo catalog into the caller's tenant in the background. `npm run up` turns it on, because a tenant's id is identity's (a UUID made at its start), known only from a token."),
  INVENTORY_URL: z.url().optional().describe("inventory's base URL: the cart reads a SKU's available stock there (GET /v1/skus/:sku). The cart routes exist when this and ORDERS_URL are set."),
  ORDERS_URL: z.url().optional().describe("orders' base URL: checkout from a cart creates the order and starts its checkout saga there, as the verified customer."),
  CART_TTL_SECONDS: z.coerce.number().int().positive().max(90 * 86_400).default(7 * 86_400).describe('A cart not written for this long expires (410) and the sweeper deletes it; every write pushes the expiry out.'),
  CART_EXPIRED_KEEP_SECONDS: z.coerce.number().int().min(0).default(86_400).describe('How long an expired open cart is kept (reads show expired: true, writes 410) before the sweeper deletes it (then 404).'),
  CART_CALL_TIMEOUT_MS: z.coerce.number().int().positive().default(3_000).describe('Timeout of one call to inventory or orders.'),
  CART_SWEEP_INTERVAL_MS: z.coerce.number().int().positive().default(60_000).describe('Pause between sweeps of expired carts and Idempotency-Keys (safe on every replica).'),
  KAFKA_BROKERS: z.string().min(1).optional().describe("Comma-separated Kafka bootstrap brokers. Set: catalog's events leave the outbox for CATALOG_TOPIC and orders' events are read (reviews wait for a delivered order, the sales summary counts them). Unset: events wait in the outbox and no order is ever seen delivered."),
  CATALOG_TOPIC: z.string().min(1).default('catalog.events').describe("Kafka topic of catalog's events (reviews, wishlists)."),
  ORDERS_EVENTS_TOPIC: z.string().min(1).default('orders.events').describe("Kafka topic of orders' events (published by orders' CDC relay)."),
  INVENTORY_EVENTS_TOPIC: z.string().min(1).default('inventory.events').describe("Kafka topic of inventory's events, read when INVENTORY_URL and KAFKA_BROKERS are set: each makes catalog read the moved SKUs' available units, which the in-stock filter and the ranking use."),
  EVENTS_GROUP: z.string().min(1).default('catalog').describe("Kafka consumer group reading orders' events."),
  EVENTS_FAST_CONSUMER: z.enum(['true', 'false']).transform((v) => v === 'true').default(false).describe('Short Kafka session and fetch waits (tests: a group joins and drains in seconds).'),
  OUTBOX_BATCH_SIZE: z.coerce.number().int().positive().default(200).describe('Events per outbox relay round.'),
  GRAPHQL_BATCHING: z.enum(['true', 'false']).transform((v) => v === 'true').default(true).describe('DataLoaders of the GraphQL subgraph batch each relation into one statement; false runs one per key (the benchmark baseline only).'),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(100).describe('Idle poll interval of the outbox relay.'),
});

export type CatalogConfig = z.output<typeof catalogConfigSchema>;

export function loadCatalogConfig(env: Record<string, string | undefined> = process.env): CatalogConfig {
  return loadConfig(catalogConfigSchema, env);
}
