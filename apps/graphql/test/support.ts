/**
 * Test bed of the federation: the real catalog and orders services (their
 * own test supports: schema per suite, N+1 guard on) serving their
 * subgraphs, and the GraphQL gateway over them; identity is started only
 * when asked (most queries here do not reach it). Data is written as the tests
 * need it: products through catalog's API, reviews and orders' read model
 * rows through the owner pools (the read model is what the subgraph reads).
 * With `events: true`, orders runs its relay and projector (its events reach
 * Kafka, its read model follows its commands) and the gateways subscribe.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '@bulwark/service-kit';
import { call, kafkaBrokers, TEST_TENANT, type Reply } from '@bulwark/test-support';
import { ADMIN, productBody, setupCatalog, type TestCatalog } from '../../catalog/test/support.ts';
import { setupIdentity, type TestIdentity } from '../../identity/test/support.ts';
import { setupOrders, type TestOrders } from '../../orders/test/support.ts';
import { createGraphqlApp, type GraphqlApp } from '../src/app.ts';
import { graphqlConfigSchema } from '../src/config.ts';

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;

export const CUSTOMER_HEADERS = (sub: string): Record<string, string> => ({ 'x-auth-sub': sub, 'x-auth-roles': 'orders', 'x-auth-tenant': TEST_TENANT });

export interface Federation {
  catalog: TestCatalog;
  orders: TestOrders;
  identity: TestIdentity | undefined;
  catalogUrl: string;
  ordersUrl: string;
  /** identity's base URL; a closed port unless started with `identity: true`. */
  identityUrl: string;
  gatewayUrl: string;
  /** Starts another gateway over the same subgraphs with extra config. */
  startGateway(env?: Record<string, string>): Promise<string>;
  /** Stops the gateway started at `url` (a restart is a stop and a new startGateway). */
  stopGateway(url: string): Promise<void>;
  /** Statements the catalog and orders pools ran for requests so far (their db_work_statements sums). */
  statements(): Promise<number>;
  cleanup(): Promise<void>;
}

async function statementSum(url: string, pool: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`db_work_statements_sum{`) && l.includes(`pool="${pool}"`) && l.includes('kind="request"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

export async function startFederation(options: { identity?: boolean; events?: boolean } = {}): Promise<Federation> {
  const identity = options.identity ? await setupIdentity() : undefined;
  const identityUrl = identity ? (await identity.start()).url : 'http://127.0.0.1:9';
  const catalog = await setupCatalog();
  const orders = await setupOrders();
  const { url: catalogUrl } = await catalog.start();
  // Without events, no projector: the tests write the read model rows the subgraph reads.
  const { url: ordersUrl } = await orders.start(options.events ? { relay: true, projector: true } : { projector: false });
  const events = options.events
    ? { KAFKA_BROKERS: kafkaBrokers().join(','), ORDERS_EVENTS_TOPIC: orders.topic, SUBSCRIPTIONS_GROUP_PREFIX: `test.${orders.id}.graphql`, SUBSCRIPTIONS_FAST_CONSUMER: 'true' }
    : {};
  const gateways: GraphqlApp[] = [];
  const byUrl = new Map<string, GraphqlApp>();
  const startGateway = async (env: Record<string, string> = {}) => {
    const config = loadConfig(graphqlConfigSchema, {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '2000',
      IDENTITY_GRAPHQL_URL: `${identityUrl}/graphql`,
      CATALOG_GRAPHQL_URL: `${catalogUrl}/graphql`,
      ORDERS_GRAPHQL_URL: `${ordersUrl}/graphql`,
      ...events,
      ...env,
    });
    const app = createGraphqlApp({ config, logDestination: devNull as never });
    gateways.push(app);
    const { url } = await app.start();
    byUrl.set(url, app);
    return url;
  };
  const gatewayUrl = await startGateway();
  return {
    catalog,
    orders,
    identity,
    catalogUrl,
    ordersUrl,
    identityUrl,
    gatewayUrl,
    startGateway,
    stopGateway: async (url) => byUrl.get(url)?.service.stop(),
    statements: async () => (await statementSum(catalogUrl, 'catalog')) + (await statementSum(ordersUrl, 'orders')),
    async cleanup() {
      for (const g of gateways.reverse()) await g.service.stop().catch(() => undefined);
      await orders.cleanup();
      await catalog.cleanup();
      await identity?.cleanup();
    },
  };
}

/** Creates `count` products (two variants each) with `reviewsEach` reviews; returns their SKUs' first variant. */
export async function seedProducts(f: Federation, count: number, reviewsEach: number): Promise<string[]> {
  const tenantHeaders = { ...ADMIN, 'x-auth-tenant': TEST_TENANT };
  await call(f.catalogUrl, 'PUT', '/v1/categories/mugs', { name: 'Mugs' }, tenantHeaders);
  const skus: string[] = [];
  for (let i = 0; i < count; i++) {
    const body = productBody();
    const created = await call(f.catalogUrl, 'POST', '/v1/products', body, tenantHeaders);
    if (created.status !== 201) throw new Error(`product not created: ${created.status} ${created.text}`);
    const id = (created.body as { id: string }).id;
    for (let r = 0; r < reviewsEach; r++) {
      await f.catalog.db.query('INSERT INTO reviews (product_id, author_sub, rating, title, body, order_id) VALUES ($1, $2, $3, $4, $5, $6)', [id, `reviewer-${r}`, 1 + (r % 5), `review ${r}`, 'fine', `o-${r}`]);
    }
    skus.push((body.variants as { sku: string }[])[0]!.sku);
  }
  return skus;
}

/** Writes `count` orders of `customer` into orders' read model, each with the SKUs given (one unit each). */
export async function seedOrders(f: Federation, customer: string, count: number, skus: readonly string[]): Promise<void> {
  const items = skus.map((sku) => ({ sku, quantity: 1, unitPriceCents: 1299 }));
  for (let i = 0; i < count; i++) {
    await f.orders.db.query(
      `INSERT INTO order_summaries (order_id, customer_id, status, items, total_cents, version, created_at, updated_at)
       VALUES ($1, $2, 'confirmed', $3::jsonb, $4, 3, now(), now())`,
      [randomUUID(), customer, JSON.stringify(items), 1299 * items.length],
    );
  }
}

export function graphql(url: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}, extensions?: Record<string, unknown>): Promise<Reply> {
  return call(url, 'POST', '/graphql', { query, variables, ...(extensions ? { extensions } : {}) }, headers);
}
