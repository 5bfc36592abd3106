/**
 * The federated API over real catalog and orders services: a nested query
 * orders → items → variants → products → reviews runs a bounded number of
 * SQL statements whatever the list sizes (DataLoaders; the N+1 guard of both
 * services' supports is on), too-deep and too-costly operations are refused
 * before any subgraph is called, automatic persisted queries answer by hash,
 * and the principal reaches the subgraphs (a customer sees only its orders).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { deletePrefix, redisUrl, suffix, waitFor } from '@bulwark/test-support';
import { CUSTOMER_HEADERS, graphql, seedOrders, seedProducts, startFederation, type Federation } from './support.ts';

const NESTED = /* GraphQL */ `
  query Nested($first: Int!) {
    orders(first: $first) {
      id
      status
      items {
        sku
        quantity
        variant {
          price { amount currency }
          product { name ratingCount reviews(first: 5) { rating title } }
        }
      }
    }
  }
`;

interface NestedData {
  orders: { id: string; items: { sku: string; variant: { product: { name: string; reviews: { rating: number }[] } } }[] }[];
}

let f: Federation;
let small: string;
let large: string;

beforeAll(async () => {
  f = await startFederation();
  const skus = await seedProducts(f, 8, 6);
  small = `small-${suffix()}`;
  large = `large-${suffix()}`;
  await seedOrders(f, small, 1, skus.slice(0, 1));
  await seedOrders(f, large, 20, skus);
}, 120_000);

afterAll(async () => {
  await f?.cleanup();
});

async function statementsOf(customer: string, first: number): Promise<{ statements: number; data: NestedData }> {
  const before = await f.statements();
  const reply = await graphql(f.gatewayUrl, NESTED, { first }, CUSTOMER_HEADERS(customer));
  expect(reply.status).toBe(200);
  const body = reply.body as { data: NestedData; errors?: unknown };
  expect(body.errors).toBeUndefined();
  // Metrics are recorded when each subgraph request closes, which may be just after the gateway answered.
  let after = before;
  await waitFor(async () => (after = await f.statements()) > before, "the subgraphs' statement metrics");
  return { statements: after - before, data: body.data };
}

describe('nested query orders → items → products → reviews', () => {
  test('when the lists grow 20 orders × 8 items, then the SQL statements stay as few as for 1 order of 1 item', async () => {
    const one = await statementsOf(small, 20);
    const many = await statementsOf(large, 20);
    expect(one.data.orders).toHaveLength(1);
    expect(many.data.orders).toHaveLength(20);
    expect(many.data.orders[0]!.items).toHaveLength(8);
    expect(many.data.orders[0]!.items[0]!.variant.product.reviews).toHaveLength(5);
    // orders list (1) + variants by SKU (1) + products (1) + reviews (1), plus each request's tenant setup.
    expect(one.statements).toBeGreaterThan(0);
    expect(many.statements).toBe(one.statements);
    expect(many.statements).toBeLessThanOrEqual(12);
  });

  test('when a customer asks, then only its own orders come back and another customer id is refused', async () => {
    const reply = await graphql(f.gatewayUrl, 'query($c: ID) { orders(customerId: $c) { id } }', { c: large }, CUSTOMER_HEADERS(small));
    expect(reply.status).toBe(200);
    const body = reply.body as { data: unknown; errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('FORBIDDEN');
  });
});

describe('limits before execution', () => {
  test('when a query is deeper than the limit, then it is refused with GRAPHQL_QUERY_TOO_DEEP and no statement runs', async () => {
    const gateway = await f.startGateway({ GRAPHQL_MAX_DEPTH: '4' });
    const before = await f.statements();
    const reply = await graphql(gateway, NESTED, { first: 1 }, CUSTOMER_HEADERS(large));
    expect(reply.status).toBe(400);
    const error = (reply.body as { errors: { message: string; extensions: Record<string, unknown> }[] }).errors[0]!;
    expect(error.extensions).toMatchObject({ code: 'GRAPHQL_QUERY_TOO_DEEP', depth: 6, maxDepth: 4 });
    expect(error.message).toMatch(/depth 6 exceeds the limit of 4/);
    expect(await f.statements()).toBe(before);
  });

  test('when a query could fetch more than the cost limit, then it is refused with GRAPHQL_QUERY_TOO_COSTLY (variables counted)', async () => {
    const before = await f.statements();
    const reply = await graphql(f.gatewayUrl, NESTED, { first: 100 }, CUSTOMER_HEADERS(large));
    expect(reply.status).toBe(400);
    const error = (reply.body as { errors: { extensions: Record<string, unknown> }[] }).errors[0]!;
    expect(error.extensions).toMatchObject({ code: 'GRAPHQL_QUERY_TOO_COSTLY', maxCost: 5000 });
    expect(error.extensions.cost).toBeGreaterThan(5000);
    expect(await f.statements()).toBe(before);
  });
});

describe('automatic persisted queries', () => {
  test('when a client sends only the hash of a query the gateway has not seen, then it asks for the query, and after one full send the hash alone answers', async () => {
    const query = `query Apq { orders(first: 1) { id status } }`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const persisted = { persistedQuery: { version: 1, sha256Hash } };
    const headers = CUSTOMER_HEADERS(small);
    const miss = await fetch(`${f.gatewayUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ extensions: persisted }) });
    const missBody = (await miss.json()) as { errors: { extensions: { code: string } }[] };
    expect(missBody.errors[0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await graphql(f.gatewayUrl, query, {}, headers, persisted)).status).toBe(200);
    const hit = await fetch(`${f.gatewayUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ extensions: persisted }) });
    expect(hit.status).toBe(200);
    expect(((await hit.json()) as { data: { orders: unknown[] } }).data.orders).toHaveLength(1);
  });

  test('when the replicas share Redis, then a query one replica learnt answers by hash on another', async () => {
    const prefix = `graphql-apq-test-${suffix()}`;
    const env = { REDIS_URL: redisUrl(), APQ_CACHE_PREFIX: prefix };
    const [a, b] = [await f.startGateway(env), await f.startGateway(env)];
    const query = `query ApqShared { orders(first: 2) { id } }`;
    const persisted = { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } };
    const headers = CUSTOMER_HEADERS(large);
    expect((await graphql(a, query, {}, headers, persisted)).status).toBe(200);
    const onB = await fetch(`${b}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ extensions: persisted }) });
    expect(onB.status).toBe(200);
    expect(((await onB.json()) as { data: { orders: unknown[] } }).data.orders).toHaveLength(2);
    await deletePrefix(redisUrl(), prefix);
  });
});

describe('field-level cache hints', () => {
  const PRODUCT = /* GraphQL */ `
    query Product($id: ID!) {
      product(id: $id) { name variants { sku price { amount currency } } reviews(first: 2) { rating } }
    }
  `;
  const PRODUCT_ONLY = /* GraphQL */ `
    query ProductOnly($id: ID!) {
      product(id: $id) { name variants { sku } }
    }
  `;

  async function someProductId(): Promise<string> {
    const reply = await graphql(f.gatewayUrl, 'query Ids { orders(first: 1) { items { variant { product { id } } } } }', {}, CUSTOMER_HEADERS(small));
    const data = (reply.body as { data: { orders: { items: { variant: { product: { id: string } } }[] }[] } }).data;
    return data.orders[0]!.items[0]!.variant.product.id;
  }

  test('when a query touches only hinted catalog fields, then the answer carries the smallest hint as a private Cache-Control, and the same query again is served from the response cache', async () => {
    const id = await someProductId();
    const first = await graphql(f.gatewayUrl, PRODUCT, { id }, CUSTOMER_HEADERS(small));
    expect(first.status).toBe(200);
    // Products 30 s (catalog's PRODUCT_MAX_AGE_SECONDS default), reviews half: the smallest wins; never public (the answer is a tenant's).
    expect(first.headers.get('cache-control')).toBe('max-age=15, private');
    expect(first.headers.get('age')).toBeNull();
    const without = await graphql(f.gatewayUrl, PRODUCT_ONLY, { id }, CUSTOMER_HEADERS(small));
    expect(without.headers.get('cache-control')).toBe('max-age=30, private');

    const again = await graphql(f.gatewayUrl, PRODUCT, { id }, CUSTOMER_HEADERS(`other-${small}`));
    expect(again.status).toBe(200);
    expect(again.headers.get('age')).not.toBeNull();
    expect(again.body).toEqual(first.body);
  });

  test('when another tenant sends the same query, then it is not answered from the first tenant\'s cached response', async () => {
    const id = await someProductId();
    const mine = await graphql(f.gatewayUrl, PRODUCT_ONLY, { id }, CUSTOMER_HEADERS(small));
    expect(((mine.body as { data: { product: { name: string } | null } }).data.product)?.name).toBeDefined();
    const theirs = await graphql(f.gatewayUrl, PRODUCT_ONLY, { id }, { ...CUSTOMER_HEADERS(small), 'x-auth-tenant': `other-tenant-${suffix()}` });
    expect(theirs.status).toBe(200);
    expect(theirs.headers.get('age')).toBeNull();
    expect((theirs.body as { data: { product: unknown } }).data.product).toBeNull();
  });

  test('when a query touches a field without a hint (orders), then nothing may be cached (no-store) and it is never served from the cache', async () => {
    const reply = await graphql(f.gatewayUrl, 'query Mine { orders(first: 1) { id items { variant { product { name } } } } }', {}, CUSTOMER_HEADERS(small));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    const again = await graphql(f.gatewayUrl, 'query Mine { orders(first: 1) { id items { variant { product { name } } } } }', {}, CUSTOMER_HEADERS(small));
    expect(again.headers.get('age')).toBeNull();
  });
});
