/**
 * Reviews, wishlists and the sales summary against real PostgreSQL and
 * Kafka: orders' events are published to a private topic as orders' relay
 * would (CloudEvents with tenantId), catalog's consumer keeps order_facts,
 * and catalog's own events are read back from its private topic.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { withSystemContext } from '@bulwark/db';
import { createKafka, createProducer, type EventProducer } from '@bulwark/events';
import { deleteTopics, kafkaBrokers, OTHER_TENANT, PROBLEM, readTopic, suffix, TEST_TENANT, waitFor, type TopicRecord } from '@bulwark/test-support';
import { ORDER_EVENTS, orderEventSchemas } from '../src/events/order-events.ts';
import { ADMIN, call, productBody, setupCatalog, type TestCatalog } from './support.ts';

const id = suffix();
const ordersTopic = `test.${id}.orders`;
const catalogTopic = `test.${id}.catalog`;
let t: TestCatalog;
let url: string;
let producer: EventProducer;
let productId: string;
let sku: string;

const customer = (sub: string) => ({ 'x-auth-sub': sub, 'x-auth-roles': 'orders' });

/** Publishes an order's life as orders' CDC relay would: created, one line, placed, confirmed and (optionally) shipped. */
async function orderOf(sub: string, opts: { sku: string; quantity?: number; unitPriceCents?: number; ship?: boolean; tenant?: string; at?: Date }): Promise<string> {
  const orderId = `o-${suffix()}`;
  const tenantId = opts.tenant ?? TEST_TENANT;
  const time = opts.at ?? new Date();
  const quantity = opts.quantity ?? 1;
  const unitPriceCents = opts.unitPriceCents ?? 1299;
  let version = 0;
  const send = (def: (typeof ORDER_EVENTS)[keyof typeof ORDER_EVENTS], data: Record<string, unknown>) =>
    producer.publish(ordersTopic, def as never, { orderId, version: ++version, tenantId, ...data } as never, { key: orderId, time });
  await send(ORDER_EVENTS.created, { customerId: sub });
  await send(ORDER_EVENTS.itemAdded, { sku: opts.sku, quantity, unitPriceCents });
  await send(ORDER_EVENTS.placed, { totalCents: quantity * unitPriceCents });
  await send(ORDER_EVENTS.confirmed, { sagaId: `s-${orderId}` });
  if (opts.ship !== false) await send(ORDER_EVENTS.shipped, { carrier: 'dhl' });
  return orderId;
}

beforeAll(async () => {
  t = await setupCatalog();
  ({ url } = await t.start({ KAFKA_BROKERS: kafkaBrokers().join(','), ORDERS_EVENTS_TOPIC: ordersTopic, CATALOG_TOPIC: catalogTopic, EVENTS_GROUP: `catalog-${id}`, EVENTS_FAST_CONSUMER: 'true', OUTBOX_POLL_MS: '20' }));
  producer = createProducer({ kafka: createKafka({ brokers: kafkaBrokers(), clientId: 'catalog-test-orders' }), schemas: orderEventSchemas, source: '/bulwark/orders', registry: new Registry() });
  expect((await call(url, 'PUT', '/v1/categories/mugs', { name: 'Mugs' }, ADMIN)).status).toBe(201);
  const body = productBody();
  const created = await call(url, 'POST', '/v1/products', body, ADMIN);
  expect(created.status).toBe(201);
  productId = created.body.id as string;
  sku = (body.variants as { sku: string }[])[0]!.sku;
});

afterAll(async () => {
  await producer?.close();
  await t?.cleanup();
  await deleteTopics(ordersTopic, catalogTopic);
});

/** Reads catalog's topic from the beginning until `predicate` holds for what arrived. */
const readCatalogEvents = (predicate: (seen: TopicRecord<Record<string, unknown>>[]) => boolean) => readTopic<Record<string, unknown>>(catalogTopic, predicate, { clientId: 'catalog-test-reader' });

describe('reviews', () => {
  it('when a customer has no delivered order of the product, then the review is refused (403) until orders says it shipped, then counted', async () => {
    const sub = `c-${suffix()}`;
    const review = { rating: 4, title: 'Good mug', body: 'Keeps coffee hot.' };
    const orderId = await orderOf(sub, { sku, ship: false });
    // Placed and confirmed, not shipped: wait until catalog has seen the order, then the review is still refused.
    await waitFor(async () => (await t.db.query('SELECT 1 FROM order_facts WHERE order_id = $1 AND confirmed_at IS NOT NULL', [orderId])).rowCount === 1, 'catalog saw the orders\' events', 30_000);
    const early = await call(url, 'PUT', `/v1/products/${productId}/reviews/mine`, review, customer(sub));
    expect(early.status).toBe(403);
    expect(early.headers.get('content-type')).toContain(PROBLEM);
    expect(early.body.code).toBe('CATALOG_REVIEW_NOT_DELIVERED');

    await orderOf(sub, { sku });
    let saved = early;
    await waitFor(async () => (saved = await call(url, 'PUT', `/v1/products/${productId}/reviews/mine`, review, customer(sub))).status === 201, 'catalog saw the orders\' events', 30_000);
    expect(saved.body).toMatchObject({ review: { productId, authorSub: sub, rating: 4, title: 'Good mug' }, ratingCount: 1, ratingAverage: 4 });

    // One per user per product: a second PUT replaces it, the count stays.
    const again = await call(url, 'PUT', `/v1/products/${productId}/reviews/mine`, { rating: 2 }, customer(sub));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ review: { rating: 2, title: '' }, ratingCount: 1, ratingAverage: 2 });
  });

  it('when several customers review at once, then the count and average match the reviews, and deletes keep them current', async () => {
    const subs = Array.from({ length: 6 }, () => `c-${suffix()}`);
    for (const sub of subs) await orderOf(sub, { sku });
    await waitFor(async () => (await t.db.query('SELECT count(*)::int AS n FROM order_facts WHERE customer_sub = ANY($1) AND shipped_at IS NOT NULL', [subs])).rows[0]?.n === subs.length, 'catalog saw the orders\' events', 30_000);
    const before = (await call(url, 'GET', `/v1/products/${productId}/reviews`)).body as { ratingCount: number };
    expect((await call(url, 'GET', `/v1/products/${productId}`)).body.rating.count).toBe(before.ratingCount); // now cached
    const answers = await Promise.all(subs.map((sub, i) => call(url, 'PUT', `/v1/products/${productId}/reviews/mine`, { rating: (i % 5) + 1 }, customer(sub))));
    expect(answers.map((a) => a.status)).toEqual(subs.map(() => 201));
    const { rows } = await t.db.query<{ n: number; avg: number }>('SELECT count(*)::int AS n, avg(rating)::float AS avg FROM reviews WHERE product_id = $1', [productId]);
    const counted = rows[0]!;
    const list = await call(url, 'GET', `/v1/products/${productId}/reviews?limit=100`);
    expect(list.body.ratingCount).toBe(before.ratingCount + subs.length);
    expect(list.body.ratingCount).toBe(counted.n);
    expect(list.body.ratingAverage).toBeCloseTo(counted.avg, 2);
    expect((list.body.items as unknown[]).length).toBe(counted.n);
    // The cached product is dropped with each review: it shows the new rating at once.
    expect((await call(url, 'GET', `/v1/products/${productId}`)).body.rating).toEqual({ count: counted.n, average: list.body.ratingAverage });

    const removed = await call(url, 'DELETE', `/v1/products/${productId}/reviews/mine`, undefined, customer(subs[0]!));
    expect(removed.status).toBe(200);
    expect(removed.body.ratingCount).toBe(counted.n - 1);
    expect((await call(url, 'DELETE', `/v1/products/${productId}/reviews/mine`, undefined, customer(subs[0]!))).body.code).toBe('CATALOG_REVIEW_NOT_FOUND');
    // Moderation: an admin deletes another's review; a customer may not.
    expect((await call(url, 'DELETE', `/v1/products/${productId}/reviews/${subs[1]}`, undefined, customer(subs[2]!))).body.code).toBe('CATALOG_ADMIN_ONLY');
    const moderated = await call(url, 'DELETE', `/v1/products/${productId}/reviews/${subs[1]}`, undefined, ADMIN);
    expect(moderated.status).toBe(200);
    expect(moderated.body.ratingCount).toBe(counted.n - 2);
    expect((await call(url, 'GET', `/v1/products/${productId}`)).body.rating.count).toBe(counted.n - 2);
  });

  it('when the caller is not a verified customer or the input is bad, then 4xx problems', async () => {
    const anonymous = await call(url, 'PUT', `/v1/products/${productId}/reviews/mine`, { rating: 5 });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body.code).toBe('CATALOG_LOGIN_REQUIRED');
    expect((await call(url, 'PUT', `/v1/products/${productId}/reviews/mine`, { rating: 5 }, { 'x-auth-sub': 'x', 'x-auth-roles': 'viewer' })).body.code).toBe('CATALOG_CUSTOMER_ONLY');
    const bad = await call(url, 'PUT', `/v1/products/${productId}/reviews/mine`, { rating: 6 }, customer('x'));
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain(PROBLEM);
    expect((await call(url, 'PUT', `/v1/products/${randomUUID()}/reviews/mine`, { rating: 5 }, customer('x'))).body.code).toBe('CATALOG_PRODUCT_NOT_FOUND');
    expect((await call(url, 'GET', `/v1/products/${randomUUID()}/reviews`)).status).toBe(404);
  });

  it("when an order of another tenant shipped, then it allows no review here and the other tenant sees none of this tenant's reviews", async () => {
    const sub = `c-${suffix()}`;
    const orderId = await orderOf(sub, { sku, tenant: OTHER_TENANT });
    const shipped = async () => (await withSystemContext(t.db, 'test', () => t.db.query('SELECT tenant_id FROM order_facts WHERE order_id = $1 AND shipped_at IS NOT NULL', [orderId]))).rows;
    await waitFor(async () => (await shipped()).length === 1, 'the other tenant\'s order shipped');
    expect(await shipped()).toEqual([{ tenant_id: OTHER_TENANT }]);
    expect((await call(url, 'PUT', `/v1/products/${productId}/reviews/mine`, { rating: 5 }, customer(sub))).body.code).toBe('CATALOG_REVIEW_NOT_DELIVERED');
    expect((await call(url, 'GET', `/v1/products/${productId}/reviews`, undefined, { 'x-auth-tenant': OTHER_TENANT })).status).toBe(404);
  });
});

describe('wishlists', () => {
  it('when a user adds, lists and removes products, then the list is theirs alone and changes are idempotent', async () => {
    const sub = `w-${suffix()}`;
    const me = { 'x-auth-sub': sub };
    expect((await call(url, 'PUT', `/v1/wishlist/${productId}`, undefined, me)).status).toBe(201);
    expect((await call(url, 'PUT', `/v1/wishlist/${productId}`, undefined, me)).body).toEqual({ productId, added: false });
    const list = await call(url, 'GET', '/v1/wishlist', undefined, me);
    expect(list.body.items).toEqual([expect.objectContaining({ productId, name: 'Stoneware Coffee Mug', priceMin: 1299 })]);
    expect((await call(url, 'GET', '/v1/wishlist', undefined, { 'x-auth-sub': `other-${sub}` })).body.items).toEqual([]);
    expect((await call(url, 'GET', '/v1/wishlist', undefined, { 'x-auth-sub': sub, 'x-auth-tenant': OTHER_TENANT })).body.items).toEqual([]);
    expect((await call(url, 'DELETE', `/v1/wishlist/${productId}`, undefined, me)).status).toBe(204);
    expect((await call(url, 'DELETE', `/v1/wishlist/${productId}`, undefined, me)).status).toBe(204);
    expect((await call(url, 'GET', '/v1/wishlist', undefined, me)).body.items).toEqual([]);
    expect((await call(url, 'GET', '/v1/wishlist')).body.code).toBe('CATALOG_LOGIN_REQUIRED');
    expect((await call(url, 'PUT', `/v1/wishlist/${randomUUID()}`, undefined, me)).status).toBe(404);
    expect((await call(url, 'PUT', '/v1/wishlist/not-a-uuid', undefined, me)).status).toBe(400);
  });
});

describe('catalog events', () => {
  it('when products, categories, reviews and wishlists change, then each committed change is a CloudEvent on the catalog topic, keyed by product', async () => {
    const sub = `e-${suffix()}`;
    await call(url, 'PUT', `/v1/wishlist/${productId}`, undefined, { 'x-auth-sub': sub });
    await call(url, 'DELETE', `/v1/wishlist/${productId}`, undefined, { 'x-auth-sub': sub });
    const seen = await readCatalogEvents((s) => s.some((e) => e.type === 'com.bulwark.catalog.wishlist-item-removed' && e.data.ownerSub === sub));
    const mine = seen.filter((e) => e.data.ownerSub === sub).map((e) => [e.type, e.key]);
    expect(mine).toEqual([
      ['com.bulwark.catalog.wishlist-item-added', productId],
      ['com.bulwark.catalog.wishlist-item-removed', productId],
    ]);
    expect(seen).toContainEqual({ type: 'com.bulwark.catalog.product-changed', key: productId, data: { productId, change: 'created', slug: expect.any(String) } });
    expect(seen).toContainEqual({ type: 'com.bulwark.catalog.category-changed', key: 'category:mugs', data: { slug: 'mugs', change: 'created' } });
    const reviews = seen.filter((e) => e.type === 'com.bulwark.catalog.review-saved');
    expect(reviews.length).toBeGreaterThan(0);
    expect(reviews[0]!.data).toMatchObject({ productId, rating: expect.any(Number), ratingCount: expect.any(Number) });
  });
});

describe('sales summary', () => {
  it('when orders were confirmed on two days, then the admin sees orders, revenue and top products per day; others get 403', async () => {
    const a = `s-${suffix()}`;
    const other = productBody();
    const second = await call(url, 'POST', '/v1/products', other, ADMIN);
    const otherSku = (other.variants as { sku: string }[])[0]!.sku;
    const day1 = new Date('2020-03-01T10:00:00Z');
    const day2 = new Date('2020-03-02T23:59:00Z');
    await orderOf(a, { sku, quantity: 2, unitPriceCents: 1000, at: day1 });
    await orderOf(a, { sku: otherSku, quantity: 1, unitPriceCents: 5000, at: day1 });
    const last = await orderOf(a, { sku, quantity: 3, unitPriceCents: 1000, at: day2, ship: false });
    await waitFor(async () => (await t.db.query('SELECT 1 FROM order_facts WHERE order_id = $1 AND confirmed_at IS NOT NULL', [last])).rowCount === 1, 'catalog saw the orders\' events', 30_000);
    const summary = await call(url, 'GET', '/v1/admin/sales?from=2020-03-01&to=2020-03-02&top=1', undefined, ADMIN);
    expect(summary.status).toBe(200);
    expect(summary.body).toEqual({
      from: '2020-03-01',
      to: '2020-03-02',
      totals: { orders: 3, revenueCents: 10_000 },
      days: [
        { day: '2020-03-01', orders: 2, revenueCents: 7_000, topProducts: [{ productId: second.body.id, sku: otherSku, name: 'Stoneware Coffee Mug', quantity: 1, revenueCents: 5_000 }] },
        { day: '2020-03-02', orders: 1, revenueCents: 3_000, topProducts: [{ productId, sku, name: 'Stoneware Coffee Mug', quantity: 3, revenueCents: 3_000 }] },
      ],
    });
    expect((await call(url, 'GET', '/v1/admin/sales?from=2020-03-01&to=2020-03-02', undefined, customer(a))).body.code).toBe('CATALOG_ADMIN_ONLY');
    expect((await call(url, 'GET', '/v1/admin/sales?from=2020-03-05&to=2020-03-02', undefined, ADMIN)).status).toBe(400);
  });
});
