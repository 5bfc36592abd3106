/**
 * GraphQL: one nested query, orders(first: 20) → items (8 each) → variant →
 * product → reviews(first: 5), for one customer, in the same run:
 *   1. through the federation gateway with catalog's DataLoaders (batched)
 *      and with catalog run with GRAPHQL_BATCHING=false (one statement per
 *      key): SQL statements per request (catalog's and orders' pools,
 *      db_work_statements) and p50/p95;
 *   2. the federated query against the client calling the two subgraphs
 *      itself (orders' query, then catalog's `_entities` for the SKUs):
 *      what the gateway's planning and extra hop cost.
 * Real catalog and orders services (in this process, their own schemas),
 * PostgreSQL from scripts/infra. BENCH_OPS (200) calls per round, BENCH_ROUNDS
 * (3), BENCH_CONCURRENCY (4) callers.
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { loadConfig } from '@bulwark/service-kit';
import { call, runtimeDbUrl, sessionDbUrl, silent } from '@bulwark/test-support';
import { createCatalogApp, type CatalogApp } from '../apps/catalog/src/app.ts';
import { catalogConfigSchema } from '../apps/catalog/src/config.ts';
import { createGraphqlApp, type GraphqlApp } from '../apps/graphql/src/app.ts';
import { graphqlConfigSchema } from '../apps/graphql/src/config.ts';
import { createOrdersApp, type OrdersApp } from '../apps/orders/src/app.ts';
import { ordersConfigSchema } from '../apps/orders/src/config.ts';
import { ensureInfra } from '../scripts/infra/index.ts';
import { measureClosedLoop, type Round } from './lib/closed-loop.ts';

const OPS = Number(process.env.BENCH_OPS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const ORDERS = 20;
const ITEMS = 8;
const REVIEWS = 5;
const TENANT = 'bench-graphql';
const CUSTOMER = 'bench-customer';
const HEADERS = { 'x-auth-sub': CUSTOMER, 'x-auth-roles': 'orders', 'x-auth-tenant': TENANT };
const devNull = { write: () => true } as unknown as NodeJS.WritableStream;

const NESTED = `query Nested { orders(first: ${ORDERS}) { id status items { sku quantity variant { price { amount currency } product { name ratingCount reviews(first: ${REVIEWS}) { rating title } } } } } }`;
const ORDERS_ONLY = `{ orders(first: ${ORDERS}) { id status items { sku quantity } } }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Variant { sku price { amount currency } product { name ratingCount reviews(first: ${REVIEWS}) { rating title } } } } }`;

async function post(url: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...HEADERS }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (!res.ok || body.errors) throw new Error(`${url}: ${res.status} ${JSON.stringify(body.errors ?? body)}`);
  return body;
}

async function statementSum(url: string, pool: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('db_work_statements_sum{') && l.includes(`pool="${pool}"`) && l.includes('kind="request"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

function percentiles(rounds: Round[]): { p50: number; p95: number; opsPerSec: number } {
  const all = Float64Array.from(rounds.flatMap((r) => [...r.latencies])).sort();
  const seconds = rounds.reduce((s, r) => s + r.seconds, 0);
  return { p50: all[Math.floor(all.length * 0.5)]!, p95: all[Math.floor(all.length * 0.95)]!, opsPerSec: all.length / seconds };
}

async function seed(ownerUrl: string, catalogSchema: string, ordersSchema: string, catalogUrl: string): Promise<void> {
  const admin = { 'x-auth-sub': 'bench-admin', 'x-auth-roles': 'admin', 'x-auth-tenant': TENANT };
  await call(catalogUrl, 'PUT', '/v1/categories/mugs', { name: 'Mugs' }, admin);
  const catalogDb = createPool({ connectionString: sessionDbUrl(ownerUrl, { searchPath: catalogSchema, tenant: TENANT }), name: 'bench_catalog_owner', max: 2, registry: new Registry(), log: silent });
  const ordersDb = createPool({ connectionString: sessionDbUrl(ownerUrl, { searchPath: ordersSchema, tenant: TENANT }), name: 'bench_orders_owner', max: 2, registry: new Registry(), log: silent });
  const skus: string[] = [];
  for (let p = 0; p < ORDERS * ITEMS; p++) {
    const slug = `bench-${p}-${randomUUID().slice(0, 6)}`;
    const created = await call(catalogUrl, 'POST', '/v1/products', { slug, name: `Mug ${p}`, brand: 'Acme', description: 'A mug.', category: 'mugs', tags: [], images: [], variants: [{ sku: `${slug}-a`, attributes: {}, price: { amount: 1299, currency: 'EUR' } }] }, admin);
    if (created.status !== 201) throw new Error(`product: ${created.status} ${created.text}`);
    const id = (created.body as { id: string }).id;
    for (let r = 0; r < REVIEWS; r++) await catalogDb.query('INSERT INTO reviews (product_id, author_sub, rating, title, body, order_id) VALUES ($1, $2, $3, $4, $5, $6)', [id, `reviewer-${r}`, 1 + (r % 5), `review ${r}`, 'fine', `o-${r}`]);
    skus.push(`${slug}-a`);
  }
  for (let o = 0; o < ORDERS; o++) {
    const items = skus.slice(o * ITEMS, (o + 1) * ITEMS).map((sku) => ({ sku, quantity: 1, unitPriceCents: 1299 }));
    await ordersDb.query(`INSERT INTO order_summaries (order_id, customer_id, status, items, total_cents, version, created_at, updated_at) VALUES ($1, $2, 'confirmed', $3::jsonb, $4, 3, now(), now())`, [randomUUID(), CUSTOMER, JSON.stringify(items), 1299 * ITEMS]);
  }
  await catalogDb.close();
  await ordersDb.close();
}

export default async function run(): Promise<void> {
  const ownerUrl = (await ensureInfra(['postgres'])).BULWARK_PG_URL!;
  const runtimeUrl = await runtimeDbUrl(ownerUrl);
  const id = randomUUID().replaceAll('-', '').slice(0, 8);
  const catalogSchema = `catalog_gqlbench_${id}`;
  const ordersSchema = `orders_gqlbench_${id}`;
  const base = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATABASE_URL: runtimeUrl, MIGRATION_DATABASE_URL: ownerUrl, SHUTDOWN_TIMEOUT_MS: '2000' };
  const stops: (() => Promise<unknown>)[] = [];
  const startCatalog = async (batching: boolean) => {
    const app: CatalogApp = createCatalogApp({ config: loadConfig(catalogConfigSchema, { ...base, CATALOG_SCHEMA: catalogSchema, GRAPHQL_BATCHING: String(batching) }), logDestination: devNull as never });
    stops.push(() => app.service.stop());
    return (await app.start()).url;
  };
  const startGateway = async (catalogUrl: string, ordersUrl: string) => {
    const app: GraphqlApp = createGraphqlApp({
      config: loadConfig(graphqlConfigSchema, { ...base, IDENTITY_GRAPHQL_URL: 'http://127.0.0.1:9/graphql', CATALOG_GRAPHQL_URL: `${catalogUrl}/graphql`, ORDERS_GRAPHQL_URL: `${ordersUrl}/graphql`, GRAPHQL_MAX_COST: '100000' }),
      logDestination: devNull as never,
    });
    stops.push(() => app.service.stop());
    return (await app.start()).url;
  };
  let cleanupDb: DbPool | undefined;
  try {
    const batchedCatalog = await startCatalog(true);
    const unbatchedCatalog = await startCatalog(false);
    const orders: OrdersApp = createOrdersApp({ config: loadConfig(ordersConfigSchema, { ...base, ORDERS_SCHEMA: ordersSchema, PROJECTOR_ENABLED: 'false', RELAY_ENABLED: 'false' }), logDestination: devNull as never });
    stops.push(() => orders.service.stop());
    const ordersUrl = (await orders.start()).url;
    await seed(ownerUrl, catalogSchema, ordersSchema, batchedCatalog);
    const batchedGateway = await startGateway(batchedCatalog, ordersUrl);
    const unbatchedGateway = await startGateway(unbatchedCatalog, ordersUrl);

    const direct = async () => {
      const list = (await post(`${ordersUrl}/graphql`, ORDERS_ONLY)).data!.orders as { items: { sku: string }[] }[];
      const skus = [...new Set(list.flatMap((o) => o.items.map((i) => i.sku)))];
      await post(`${batchedCatalog}/graphql`, ENTITIES, { r: skus.map((sku) => ({ __typename: 'Variant', sku })) });
    };
    const variants: { label: string; op: () => Promise<unknown>; catalogUrl: string }[] = [
      { label: 'federated, DataLoader', op: () => post(`${batchedGateway}/graphql`, NESTED), catalogUrl: batchedCatalog },
      { label: 'federated, no DataLoader', op: () => post(`${unbatchedGateway}/graphql`, NESTED), catalogUrl: unbatchedCatalog },
      { label: 'subgraphs called directly (DataLoader)', op: direct, catalogUrl: batchedCatalog },
    ];
    const check = (await post(`${batchedGateway}/graphql`, NESTED)).data!.orders as { items: unknown[] }[];
    if (check.length !== ORDERS || check[0]!.items.length !== ITEMS) throw new Error(`seed not visible: ${check.length} orders`);

    const rounds = new Map<string, Round[]>(variants.map((v) => [v.label, []]));
    const statements = new Map<string, number>();
    for (const v of variants) await measureClosedLoop(v.op, { ops: 20, concurrency: CONCURRENCY }); // warm-up
    for (const v of variants) {
      const before = (await statementSum(v.catalogUrl, 'catalog')) + (await statementSum(ordersUrl, 'orders'));
      await measureClosedLoop(v.op, { ops: 10, concurrency: 1 });
      const after = (await statementSum(v.catalogUrl, 'catalog')) + (await statementSum(ordersUrl, 'orders'));
      statements.set(v.label, (after - before) / 10);
    }
    for (let r = 0; r < ROUNDS; r++) for (const v of variants) rounds.get(v.label)!.push(await measureClosedLoop(v.op, { ops: OPS, concurrency: CONCURRENCY }));

    console.log(`nested query: ${ORDERS} orders × ${ITEMS} items → variant → product → ${REVIEWS} reviews; ${ROUNDS} rounds × ${OPS} calls, ${CONCURRENCY} callers`);
    const results = variants.map((v) => ({ label: v.label, stmts: statements.get(v.label)!, ...percentiles(rounds.get(v.label)!) }));
    for (const x of results) console.log(`  ${x.label.padEnd(40)} ${x.stmts.toFixed(1).padStart(6)} SQL statements/request   p50 ${x.p50.toFixed(2)} ms   p95 ${x.p95.toFixed(2)} ms   ${x.opsPerSec.toFixed(0)} req/s`);
    const [batched, unbatched, directRun] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0]];
    console.log(`  DataLoader: ${(unbatched.stmts / batched.stmts).toFixed(1)}× fewer statements, p95 ${(unbatched.p95 / batched.p95).toFixed(2)}× lower`);
    console.log(`  federation vs direct subgraph calls: p95 ${(batched.p95 / directRun.p95).toFixed(2)}×, p50 ${(batched.p50 / directRun.p50).toFixed(2)}×`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    cleanupDb = createPool({ connectionString: ownerUrl, name: 'bench_graphql_cleanup', max: 1, registry: new Registry(), log: silent });
    await cleanupDb.query(`DROP SCHEMA IF EXISTS "${catalogSchema}" CASCADE`);
    await cleanupDb.query(`DROP SCHEMA IF EXISTS "${ordersSchema}" CASCADE`);
    await cleanupDb.close();
  }
}
