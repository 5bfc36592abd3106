/**
 * Ingestion end to end against the real PostgreSQL and Kafka: REST → the
 * ingest topic → the writer → daily partitions; the platform's topics (the
 * shortener's clicks, orders' events) into the same table; the series query.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createKafka, createProducer, type EventProducer } from '@bulwark/events';
import { kafkaBrokers, OTHER_TENANT, silent, TEST_TENANT } from '@bulwark/test-support';
import { KAFKA_EVENTS, orderEventSchemas } from '../../orders/src/domain/events.ts';
import { SHORTENER_EVENTS, shortenerEventSchemas } from '../../shortener/src/events/shortener-events.ts';
import { call, setupAnalytics, waitFor, type TestAnalytics } from './support.ts';

let t: TestAnalytics;
let url: string;
let shortener: EventProducer;
let orders: EventProducer;

const hourAgo = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000);
const at = (minutes: number) => new Date(hourAgo.getTime() + minutes * 60_000).toISOString();
const purchase = (id: string, amountCents: number, minutes = 5) => ({ id, type: 'purchase', occurredAt: at(minutes), props: { orderId: `o-${id}`, amountCents, currency: 'EUR' } });
const series = (query: string, headers: Record<string, string> = {}) => call(url, 'GET', `/v1/series?${query}&from=${encodeURIComponent(hourAgo.toISOString())}&to=${encodeURIComponent(new Date(hourAgo.getTime() + 7_200_000).toISOString())}`, undefined, headers);

beforeAll(async () => {
  t = await setupAnalytics();
  ({ url } = await t.start({ PLATFORM_DEFAULT_TENANT: TEST_TENANT, ACCEPT_FUTURE_MS: '7200000' }));
  const kafka = createKafka({ brokers: kafkaBrokers(), clientId: `analytics-test-${t.id}` });
  shortener = createProducer({ kafka, schemas: shortenerEventSchemas, source: '/bulwark/shortener', registry: new Registry(), log: silent });
  orders = createProducer({ kafka, schemas: orderEventSchemas, source: '/bulwark/orders', registry: new Registry(), log: silent });
});

afterAll(async () => {
  await shortener?.close();
  await orders?.close();
  await t?.cleanup();
});

describe('POST /v1/events', () => {
  it('when a batch holds bad rows, then each is named in errors and the good rows land', async () => {
    const res = await call(url, 'POST', '/v1/events', {
      events: [purchase('b-1', 100), { ...purchase('b-2', 100), props: { orderId: 'x', amountCents: 'ten', currency: 'EUR' } }, { id: 'b-3', type: 'teleport', occurredAt: at(1) }, purchase('b-4', 300), { type: 'click' }],
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 2, rejected: 3 });
    const errors = (res.body as { errors: { index: number; id?: string; pointer: string }[] }).errors;
    expect(errors.map((e) => [e.index, e.id, e.pointer])).toEqual([
      [1, 'b-2', '/events/1/props/amountCents'],
      [2, 'b-3', '/events/2/type'],
      [4, undefined, '/events/4/id'],
    ]);
    await waitFor(async () => (await t.count('purchase')) === 2, 'the two good purchases stored');
    const { rows } = await t.db.query<{ event_id: string; tenant_id: string }>("SELECT event_id, tenant_id FROM events WHERE type = 'purchase' ORDER BY event_id");
    expect(rows).toEqual([{ event_id: 'b-1', tenant_id: TEST_TENANT }, { event_id: 'b-4', tenant_id: TEST_TENANT }]);
  });

  it('when every row is bad, then it is 422 problem+json naming each row and nothing is accepted', async () => {
    const res = await call(url, 'POST', '/v1/events', { events: [{ id: 'x-1', type: 'purchase', occurredAt: 'yesterday' }, { id: 'x-2', type: 'signup', occurredAt: '2001-01-01T00:00:00Z' }] });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'ANALYTICS_EVENTS_INVALID', errors: [{ index: 0, id: 'x-1', pointer: '/events/0/occurredAt' }, { index: 1, id: 'x-2', pointer: '/events/1/occurredAt' }] });
  });

  it('when a batch is over 1,000 events or names no tenant, then it is refused with problem+json', async () => {
    const big = await call(url, 'POST', '/v1/events', { events: Array.from({ length: 1001 }, (_, i) => purchase(`big-${i}`, 1)) });
    expect(big.status).toBe(400);
    const anonymous = await call(url, 'POST', '/v1/events', purchase('anon', 1), { 'x-auth-tenant': '' });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toMatchObject({ code: 'ANALYTICS_TENANT_REQUIRED' });
  });

  it('when the same event id is sent again (alone, and twice in one batch), then it is stored once', async () => {
    const one = { id: 'dup-1', type: 'signup', occurredAt: at(10), props: { method: 'email' } };
    expect((await call(url, 'POST', '/v1/events', one)).status).toBe(202);
    expect((await call(url, 'POST', '/v1/events', { events: [one, one, { ...one, id: 'dup-2' }] })).status).toBe(202);
    await waitFor(async () => (await t.count('signup')) === 2, 'dup-1 and dup-2 stored');
    // A later event stored: the repeats had their chance (on whatever partition they went, the key drops them).
    expect((await call(url, 'POST', '/v1/events', { id: 'dup-3', type: 'signup', occurredAt: at(11) })).status).toBe(202);
    await waitFor(async () => (await t.count('signup')) === 3, 'dup-3 stored');
    const { rows } = await t.db.query<{ event_id: string; n: string }>("SELECT event_id, count(*) AS n FROM events WHERE type = 'signup' GROUP BY 1 ORDER BY 1");
    expect(rows).toEqual([{ event_id: 'dup-1', n: '1' }, { event_id: 'dup-2', n: '1' }, { event_id: 'dup-3', n: '1' }]);
  });
});

describe('GET /v1/series', () => {
  it('when purchases land in two hours, then sum, max and count follow per bucket, for the own tenant only', async () => {
    const res = await call(url, 'POST', '/v1/events', { events: [purchase('s-1', 1000, 20), purchase('s-2', 3000, 30), purchase('s-3', 500, 70)] });
    expect(res.status).toBe(202);
    await waitFor(async () => (await t.count('purchase')) === 5, 'the series purchases stored');
    const sum = await series('type=purchase&bucket=hour&agg=sum&field=amountCents');
    expect(sum.status).toBe(200);
    expect((sum.body as { points: unknown[] }).points).toEqual([
      { at: hourAgo.toISOString(), value: 100 + 300 + 1000 + 3000, count: 4 },
      { at: new Date(hourAgo.getTime() + 3_600_000).toISOString(), value: 500, count: 1 },
    ]);
    const max = await series('type=purchase&bucket=day&agg=max&field=amountCents');
    expect((max.body as { points: { value: number }[] }).points.map((p) => p.value).sort((a, b) => a - b).at(-1)).toBe(3000);
    const count = await series('type=purchase&bucket=minute&agg=count');
    expect((count.body as { points: { value: number }[] }).points.reduce((n, p) => n + p.value, 0)).toBe(5);
    const other = await series('type=purchase&bucket=hour&agg=count', { 'x-auth-tenant': OTHER_TENANT });
    expect((other.body as { points: unknown[] }).points).toEqual([]);
  });

  it('when the query is unsound, then it is 422 or 400 problem+json', async () => {
    expect((await series('type=purchase&agg=sum')).body).toMatchObject({ status: 422, code: 'ANALYTICS_SERIES_INVALID' });
    expect((await series('type=purchase&bucket=week')).status).toBe(400);
  });
});

describe('the platform topics', () => {
  it("when the shortener publishes clicks of a tenant's link, then they appear in that tenant's series, not the default tenant's", async () => {
    for (let i = 0; i < 3; i++) {
      await shortener.publish(t.topics.shortener, SHORTENER_EVENTS['link-clicked']!, { tenantId: OTHER_TENANT, code: 'abc', at: at(40 + i), referrer: 'https://news.example' }, { key: 'abc' });
    }
    await waitFor(async () => (await t.count('shortener.link-clicked')) === 3, 'the three clicks stored');
    const clicks = await series('type=shortener.link-clicked&bucket=hour&agg=count', { 'x-auth-tenant': OTHER_TENANT });
    expect((clicks.body as { points: unknown[] }).points).toEqual([{ at: hourAgo.toISOString(), value: 3, count: 3 }]);
    expect(((await series('type=shortener.link-clicked&bucket=hour&agg=count')).body as { points: unknown[] }).points).toEqual([]);
  });

  it("when orders publishes an order placed for a tenant, then it lands under that tenant, not the default one", async () => {
    await orders.publish(t.topics.orders, KAFKA_EVENTS.OrderPlaced, { orderId: 'ord-1', version: 4, tenantId: OTHER_TENANT, totalCents: 2599 }, { key: 'ord-1', time: new Date(at(50)) });
    await waitFor(async () => (await t.count('orders.order-placed')) === 1, 'the order event stored');
    const mine = await series('type=orders.order-placed&bucket=hour&agg=sum&field=totalCents');
    expect((mine.body as { points: unknown[] }).points).toEqual([]);
    const theirs = await series('type=orders.order-placed&bucket=hour&agg=sum&field=totalCents', { 'x-auth-tenant': OTHER_TENANT });
    expect((theirs.body as { points: unknown[] }).points).toEqual([{ at: hourAgo.toISOString(), value: 2599, count: 1 }]);
  });
});
