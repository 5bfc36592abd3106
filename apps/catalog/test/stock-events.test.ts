/**
 * Stock learned from the real inventory's events: inventory runs as a process
 * from its own entry point with its outbox relay publishing to a topic of this
 * file, a reservation made through its internal route (with orders' service
 * token, as the saga calls it) takes a SKU's last unit, and catalog's consumer
 * turns that into "out of stock" for the in-stock filter and the ranking;
 * releasing it brings the product back; so does a restock (a stock
 * adjustment made by an admin, inventory's stock-changed event) after the last
 * unit was sold.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { call as plainCall, kafkaBrokers, OTHER_TENANT, startService, suffix, tenantCall, TEST_TENANT, waitFor, type Service } from '@bulwark/test-support';
import { sharedServiceIssuer } from '../../identity/test/service-issuer.ts';
import { ADMIN, call, productBody, setupCatalog, type TestCatalog } from './support.ts';

const entry = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));
const id = suffix();
const topics = { inventory: `inventory.events.${id}`, orders: `orders.events.${id}`, catalog: `catalog.events.${id}` };

describe('in stock, from inventory events', () => {
  let catalog: TestCatalog;
  let inventory: Service;
  let url: string;
  const sku = `QZ-${id}`;
  const spareSku = `QZS-${id}`;
  let productId: string;
  let otherProductId: string;

  const internal = async (path: string, body: unknown) => {
    const authorization = await (await sharedServiceIssuer()).orders.authorization();
    return plainCall(inventory.url, 'POST', path, body, { authorization, 'idempotency-key': randomUUID(), 'x-auth-tenant': TEST_TENANT });
  };
  const inStockIds = async () => ((await call(url, 'GET', '/v1/products/search?q=quetzal&inStock=true')).body.items as { id: string }[]).map((i) => i.id);
  const inStockOf = async (tenant: string, product: string) =>
    (await catalog.db.query<{ in_stock: boolean }>('SELECT in_stock FROM products WHERE tenant_id = $1 AND id = $2', [tenant, product])).rows[0]!.in_stock;

  beforeAll(async () => {
    catalog = await setupCatalog();
    const issuer = await sharedServiceIssuer();
    const kafka = { KAFKA_BROKERS: kafkaBrokers().join(',') };
    inventory = await startService({
      name: 'inventory',
      main: entry('inventory/src/main.ts'),
      env: { ...catalog.env(), ...kafka, INVENTORY_SCHEMA: `inventory_${catalog.schema}`, INVENTORY_TOPIC: topics.inventory, EVENTS_ENABLED: 'true', OUTBOX_POLL_MS: '20', SWEEPER_ENABLED: 'false', ...issuer.verifierEnv },
    });
    ({ url } = await catalog.start({
      ...kafka,
      INVENTORY_URL: inventory.url,
      INVENTORY_EVENTS_TOPIC: topics.inventory,
      ORDERS_EVENTS_TOPIC: topics.orders,
      CATALOG_TOPIC: topics.catalog,
      EVENTS_GROUP: `catalog-${id}`,
      EVENTS_FAST_CONSUMER: 'true',
    }));
    expect((await call(url, 'PUT', '/v1/categories/mugs', { name: 'Mugs' }, ADMIN)).status).toBe(201);
    const created = await call(url, 'POST', '/v1/products', productBody({ name: 'Quetzal Mug', variants: [{ sku, attributes: {}, price: { amount: 1000, currency: 'EUR' } }] }), ADMIN);
    expect(created.status).toBe(201);
    productId = created.body.id as string;
    expect((await call(url, 'POST', '/v1/products', productBody({ name: 'Quetzal Cup', variants: [{ sku: spareSku, attributes: {}, price: { amount: 900, currency: 'EUR' } }] }), ADMIN)).status).toBe(201);
    // Another tenant sells the same SKU: inventory's stock is shared catalogue data.
    const other = tenantCall(OTHER_TENANT);
    expect((await other(url, 'PUT', '/v1/categories/mugs', { name: 'Mugs' }, ADMIN)).status).toBe(201);
    const theirs = await other(url, 'POST', '/v1/products', productBody({ name: 'Quetzal Mug', variants: [{ sku, attributes: {}, price: { amount: 1100, currency: 'EUR' } }] }), ADMIN);
    expect(theirs.status).toBe(201);
    otherProductId = theirs.body.id as string;
    expect((await plainCall(inventory.url, 'PUT', `/v1/skus/${sku}`, { onHand: 1 })).status).toBe(200);
    expect((await plainCall(inventory.url, 'PUT', `/v1/skus/${spareSku}`, { onHand: 5 })).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await inventory?.stop();
    await catalog?.cleanup();
    const admin = new Kafka({ brokers: kafkaBrokers(), clientId: 'catalog-test-cleanup', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
  });

  it('when a reservation takes the last unit and is then released, then the product leaves and rejoins the in-stock results for every tenant selling the SKU', async () => {
    // Never heard of from inventory: shown in stock, as before catalog learned stock.
    expect(await inStockIds()).toContain(productId);

    const held = await internal('/v1/internal/reservations', { orderId: `o-${id}`, items: [{ sku, quantity: 1 }] });
    expect(held.status).toBe(201);
    await waitFor(async () => !(await inStockIds()).includes(productId), 'the reserved event to take the product out of stock');
    expect(await inStockOf(OTHER_TENANT, otherProductId)).toBe(false);
    const all = (await call(url, 'GET', '/v1/products/search?q=quetzal')).body.items as { id: string; name: string }[];
    expect(all.map((i) => i.id)).toContain(productId);
    expect(all.at(-1)!.id).toBe(productId); // the availability term ranks it after the equally matching cup in stock
    expect((await catalog.db.query<{ available: number }>('SELECT available FROM variants WHERE tenant_id = $1 AND sku = $2', [TEST_TENANT, sku])).rows[0]!.available).toBe(0);

    const released = await internal(`/v1/internal/reservations/${held.body.id as string}/release`, {});
    expect(released.status).toBe(200);
    await waitFor(async () => (await inStockIds()).includes(productId), 'the released event to bring the product back');
    expect(await inStockOf(OTHER_TENANT, otherProductId)).toBe(true);
  });

  it('when the last unit is sold and an admin then restocks the SKU, then the product rejoins the in-stock results', async () => {
    const sold = await internal('/v1/internal/reservations', { orderId: `o-sold-${id}`, items: [{ sku, quantity: 1 }] });
    expect(sold.status).toBe(201);
    expect((await internal(`/v1/internal/reservations/${sold.body.id as string}/confirm`, {})).status).toBe(200);
    await waitFor(async () => !(await inStockIds()).includes(productId), 'the sold-out product to leave the in-stock results');

    const restock = await plainCall(inventory.url, 'POST', `/v1/skus/${sku}/adjustments`, { delta: 3, reason: 'received', note: 'PO-1' }, { 'x-auth-sub': 'admin-1', 'x-auth-roles': 'admin', 'x-auth-tenant': TEST_TENANT, 'idempotency-key': randomUUID() });
    expect(restock.status).toBe(201);
    await waitFor(async () => (await inStockIds()).includes(productId), 'the stock-changed event to bring the restocked product back');
    expect(await inStockOf(OTHER_TENANT, otherProductId)).toBe(true);
    expect((await catalog.db.query<{ available: number }>('SELECT available FROM variants WHERE tenant_id = $1 AND sku = $2', [TEST_TENANT, sku])).rows[0]!.available).toBe(3);
  });
});
