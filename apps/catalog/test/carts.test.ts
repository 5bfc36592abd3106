/**
 * Carts over HTTP against real PostgreSQL, the real inventory and the real
 * orders, each started as a process from its own entry point (orders with its
 * checkout saga, inventory verifying orders' service token from the real
 * identity): guest and user carts, the merge at login, stock checks, price
 * snapshots and re-pricing at checkout, checkout creating one order and one
 * saga per Idempotency-Key (and per cart), expiry and its sweeper, tenant
 * isolation, bad input as problem+json.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePort, OTHER_TENANT, PROBLEM, startService, TEST_TENANT, waitFor, type Service } from '@bulwark/test-support';
import { sharedServiceIssuer } from '../../identity/test/service-issuer.ts';
import { setupOrders, type TestOrders } from '../../orders/test/support.ts';
import { ADMIN, call, productBody, setupCatalog, type TestCatalog } from './support.ts';

const entry = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));
const ADDRESS = { line1: '1 Main St', city: 'Lyon', postalCode: '69001', country: 'FR' };
const GUEST = { 'x-auth-tenant': '' };
const user = (sub: string) => ({ 'x-auth-sub': sub, 'x-auth-roles': 'orders' });
const guestOf = (token: string) => ({ ...GUEST, 'cart-token': token });

describe('carts (real inventory and orders processes)', () => {
  let catalog: TestCatalog;
  let orders: TestOrders;
  let inventory: Service;
  let ordersService: Service;
  let url: string;
  const skus: string[] = [];
  let productId: string;

  beforeAll(async () => {
    const issuer = await sharedServiceIssuer();
    catalog = await setupCatalog();
    orders = await setupOrders();
    inventory = await startService({
      name: 'inventory',
      main: entry('inventory/src/main.ts'),
      env: { ...catalog.env(), INVENTORY_SCHEMA: `inventory_${catalog.schema}`, EVENTS_ENABLED: 'false', SWEEPER_ENABLED: 'false', ...issuer.verifierEnv },
    });
    // Payments is not started: the saga fails at authorize and releases its hold; the cart's part ends at the saga's start.
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    ordersService = await startService({ name: 'orders', main: entry('orders/src/main.ts'), env: orders.env({ env: { INVENTORY_URL: inventory.url, PAYMENTS_URL: nowhere, ...issuer.ordersEnv } }) });
    ({ url } = await catalog.start({ INVENTORY_URL: inventory.url, ORDERS_URL: ordersService.url, CART_SWEEP_INTERVAL_MS: '200' }));
    expect((await call(url, 'PUT', '/v1/categories/mugs', { name: 'Mugs' }, ADMIN)).status).toBe(201);
    const created = await call(url, 'POST', '/v1/products', productBody(), ADMIN);
    productId = created.body.id;
    skus.push(...(created.body.variants as { sku: string }[]).map((v) => v.sku));
    // Plenty: the sagas of the checkouts below hold stock until they fail at authorize (payments is not started).
    for (const sku of skus) expect((await call(inventory.url, 'PUT', `/v1/skus/${sku}`, { onHand: 500 })).status).toBe(200);
  }, 180_000);

  afterAll(async () => {
    await catalog?.cleanup();
    await ordersService?.stop();
    await inventory?.stop();
    await orders?.cleanup();
    await catalog?.db.query(`DROP SCHEMA IF EXISTS "inventory_${catalog.schema}" CASCADE`).catch(() => undefined);
  });

  async function guestCart(): Promise<{ id: string; token: string }> {
    const r = await call(url, 'POST', '/v1/carts', { tenant: TEST_TENANT }, GUEST);
    expect(r.status).toBe(201);
    return { id: r.body.id, token: r.body.guestToken };
  }

  it('when a guest adds a variant, then the line snapshots its price; more than the stock is 409 naming what is available; others reach nothing', async () => {
    const { id, token } = await guestCart();
    expect(token).toMatch(new RegExp(`^${TEST_TENANT}~`));
    const added = await call(url, 'PUT', `/v1/carts/${id}/items/${skus[0]}`, { quantity: 2 }, guestOf(token));
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ ownerSub: null, status: 'open', totalMinor: 2598, items: [{ sku: skus[0], productId, quantity: 2, unitPrice: { amount: 1299, currency: 'EUR' } }] });
    const tooMany = await call(url, 'PUT', `/v1/carts/${id}/items/${skus[0]}`, { quantity: 501 }, guestOf(token));
    expect(tooMany.status).toBe(409);
    expect(tooMany.headers.get('content-type')).toMatch(PROBLEM);
    expect(tooMany.body).toMatchObject({ code: 'CATALOG_CART_INSUFFICIENT_STOCK', items: [{ sku: skus[0], requested: 501, available: 500 }] });
    expect((await call(url, 'PUT', `/v1/carts/${id}/items/NO-SUCH-SKU`, { quantity: 1 }, guestOf(token))).body.code).toBe('CATALOG_CART_UNKNOWN_SKU');
    // Another guest's token, no token, another tenant's user: the cart does not exist for them.
    const other = await guestCart();
    expect((await call(url, 'GET', `/v1/carts/${id}`, undefined, guestOf(other.token))).status).toBe(404);
    expect((await call(url, 'GET', `/v1/carts/${id}`, undefined, GUEST)).body.code).toBe('CATALOG_CART_TOKEN_REQUIRED');
    expect((await call(url, 'GET', `/v1/carts/${id}`, undefined, { ...user('x'), 'x-auth-tenant': OTHER_TENANT })).status).toBe(404);
    expect((await call(url, 'GET', `/v1/carts/${id}`, undefined, guestOf(token.replace(`${TEST_TENANT}~`, `${OTHER_TENANT}~`)))).status).toBe(404);
  });

  it('when a guest logs in, then its cart merges into the user\'s (quantities add up), merging again changes nothing and the guest cart takes no more writes', async () => {
    const shopper = user(`merge-${randomUUID()}`);
    const guest = await guestCart();
    await call(url, 'PUT', `/v1/carts/${guest.id}/items/${skus[0]}`, { quantity: 1 }, guestOf(guest.token));
    await call(url, 'PUT', `/v1/carts/${guest.id}/items/${skus[1]}`, { quantity: 2 }, guestOf(guest.token));
    const opened = await call(url, 'POST', '/v1/carts', {}, shopper);
    expect(opened.status).toBe(201);
    expect((await call(url, 'POST', '/v1/carts', {}, shopper)).body.id).toBe(opened.body.id); // one open cart per user
    await call(url, 'PUT', `/v1/carts/${opened.body.id}/items/${skus[0]}`, { quantity: 2 }, shopper);
    const merged = await call(url, 'POST', `/v1/carts/${opened.body.id}/merge`, { guestToken: guest.token }, shopper);
    expect(merged.status).toBe(200);
    expect(merged.body.items.map((l: { sku: string; quantity: number }) => [l.sku, l.quantity])).toEqual([[skus[0], 3], [skus[1], 2]]);
    const again = await call(url, 'POST', `/v1/carts/${opened.body.id}/merge`, { guestToken: guest.token }, shopper);
    expect(again.body.items).toEqual(merged.body.items);
    const closed = await call(url, 'PUT', `/v1/carts/${guest.id}/items/${skus[0]}`, { quantity: 1 }, guestOf(guest.token));
    expect(closed.status).toBe(409);
    expect(closed.body).toMatchObject({ code: 'CATALOG_CART_CLOSED', status: 409, mergedInto: opened.body.id });
    expect((await call(url, 'POST', `/v1/carts/${guest.id}/merge`, { guestToken: guest.token }, GUEST)).body.code).toBe('CATALOG_CART_LOGIN_REQUIRED');
  });

  it('when a price changed since it was added, then checkout answers 409 with both prices and the cart takes today\'s; a new key then creates one order and one saga, replayed for the same key and refused for another', async () => {
    const sub = `buyer-${randomUUID()}`;
    const shopper = user(sub);
    const product = productBody();
    const created = (await call(url, 'POST', '/v1/products', product, ADMIN)).body;
    const sku = created.variants[0].sku as string;
    await call(inventory.url, 'PUT', `/v1/skus/${sku}`, { onHand: 10 });
    const cart = (await call(url, 'POST', '/v1/carts', {}, shopper)).body;
    await call(url, 'PUT', `/v1/carts/${cart.id}/items/${sku}`, { quantity: 2 }, shopper);
    const variants = (product.variants as { price: { amount: number } }[]).map((v, i) => (i === 0 ? { ...v, price: { amount: 1399, currency: 'EUR' } } : v));
    expect((await call(url, 'PUT', `/v1/products/${created.id}`, { ...product, variants }, ADMIN)).status).toBe(200);

    const changed = await call(url, 'POST', `/v1/carts/${cart.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': randomUUID() });
    expect(changed.status).toBe(409);
    expect(changed.body).toMatchObject({ code: 'CATALOG_CART_PRICE_CHANGED', changes: [{ sku, was: { amount: 1299, currency: 'EUR' }, now: { amount: 1399, currency: 'EUR' } }] });
    const repriced = (await call(url, 'GET', `/v1/carts/${cart.id}`, undefined, shopper)).body;
    expect(repriced).toMatchObject({ status: 'open', totalMinor: 2798 });

    const key = randomUUID();
    const [first, concurrent] = await Promise.all([0, 1].map(() => call(url, 'POST', `/v1/carts/${cart.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': key })));
    expect(first!.status).toBe(201);
    expect(concurrent!.body).toEqual(first!.body);
    expect(first!.body).toMatchObject({ cartId: cart.id, orderId: `cart-${cart.id}-r${repriced.revision}`, totalMinor: 2798, currency: 'EUR', saga: { status: expect.any(String) } });
    const replay = await call(url, 'POST', `/v1/carts/${cart.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first!.body);
    const other = await call(url, 'POST', `/v1/carts/${cart.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': randomUUID() });
    expect(other.body).toMatchObject({ code: 'CATALOG_CART_CLOSED', orderId: first!.body.orderId });

    const orderId = first!.body.orderId as string;
    const { rows: events } = await orders.db.query<{ type: string; data: Record<string, unknown> }>('SELECT type, data FROM events WHERE stream_id = $1 ORDER BY version', [orderId]);
    expect(events.map((e) => e.type)).toEqual(['OrderCreated', 'ItemAdded', 'AddressSet', 'OrderPlaced']);
    expect(events[0]!.data).toMatchObject({ customerId: sub });
    expect(events[1]!.data).toMatchObject({ sku, quantity: 2, unitPriceCents: 1399 });
    const { rows: sagas } = await orders.db.query<{ n: number }>('SELECT count(*)::int AS n FROM checkout_sagas WHERE order_id = $1', [orderId]);
    expect(sagas[0]!.n).toBe(1);
    // The user's next POST /v1/carts opens a new, empty cart.
    const next = await call(url, 'POST', '/v1/carts', {}, shopper);
    expect(next.status).toBe(201);
    expect(next.body).toMatchObject({ items: [], status: 'open' });
    expect(next.body.id).not.toBe(cart.id);
  }, 60_000);

  it('when an earlier checkout crashed after orders created the order and added a line, then the retry finishes that order without repeating a step', async () => {
    const sub = `crash-${randomUUID()}`;
    const shopper = user(sub);
    const cart = (await call(url, 'POST', '/v1/carts', {}, shopper)).body;
    await call(url, 'PUT', `/v1/carts/${cart.id}/items/${skus[0]}`, { quantity: 1 }, shopper);
    await call(url, 'PUT', `/v1/carts/${cart.id}/items/${skus[1]}`, { quantity: 2 }, shopper);
    // What the lost attempt did in orders before it died: the order and its first line, as the customer.
    const { revision } = (await call(url, 'GET', `/v1/carts/${cart.id}`, undefined, shopper)).body;
    const orderId = `cart-${cart.id}-r${revision}`;
    expect((await call(ordersService.url, 'POST', '/orders', { orderId, customerId: sub }, shopper)).status).toBe(201);
    expect((await call(ordersService.url, 'POST', `/orders/${orderId}/items`, { sku: skus[0], quantity: 1, unitPriceCents: 1299, expectedVersion: 1 }, shopper)).status).toBe(200);

    const done = await call(url, 'POST', `/v1/carts/${cart.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': randomUUID() });
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({ orderId, totalMinor: 1299 + 2 * 1499 });
    const { rows } = await orders.db.query<{ type: string; sku: string | null }>("SELECT type, data->>'sku' AS sku FROM events WHERE stream_id = $1 ORDER BY version", [orderId]);
    expect(rows.map((r) => (r.sku ? `${r.type} ${r.sku}` : r.type))).toEqual(['OrderCreated', `ItemAdded ${skus[0]}`, `ItemAdded ${skus[1]}`, 'AddressSet', 'OrderPlaced']);
  });

  it('when the cart changed after such a crash, then checkout makes a new order with the cart as it is now (the lost attempt\'s draft stays a draft)', async () => {
    const sub = `changed-${randomUUID()}`;
    const shopper = user(sub);
    const cart = (await call(url, 'POST', '/v1/carts', {}, shopper)).body;
    const before = (await call(url, 'PUT', `/v1/carts/${cart.id}/items/${skus[0]}`, { quantity: 1 }, shopper)).body;
    const stale = `cart-${cart.id}-r${before.revision}`;
    await call(ordersService.url, 'POST', '/orders', { orderId: stale, customerId: sub }, shopper);
    await call(ordersService.url, 'POST', `/orders/${stale}/items`, { sku: skus[0], quantity: 1, unitPriceCents: 1299, expectedVersion: 1 }, shopper);
    const now = (await call(url, 'PUT', `/v1/carts/${cart.id}/items/${skus[0]}`, { quantity: 3 }, shopper)).body;
    expect(now.revision).toBeGreaterThan(before.revision);

    const done = await call(url, 'POST', `/v1/carts/${cart.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': randomUUID() });
    expect(done.body).toMatchObject({ orderId: `cart-${cart.id}-r${now.revision}`, totalMinor: 3 * 1299 });
    const types = async (id: string) => (await orders.db.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY version', [id])).rows.map((r) => r.type);
    expect(await types(done.body.orderId)).toEqual(['OrderCreated', 'ItemAdded', 'AddressSet', 'OrderPlaced']);
    expect(await types(stale)).toEqual(['OrderCreated', 'ItemAdded']);
  });

  it('when a checkout reached orders and did not finish, then the cart takes no edits and a checkout with any key finishes that order', async () => {
    const sub = `pending-${randomUUID()}`;
    const shopper = user(sub);
    const cart = (await call(url, 'POST', '/v1/carts', {}, shopper)).body;
    const filled = (await call(url, 'PUT', `/v1/carts/${cart.id}/items/${skus[0]}`, { quantity: 1 }, shopper)).body;
    const orderId = `cart-${cart.id}-r${filled.revision}`;
    // What a checkout that died after its first transaction left: the pending mark (committed) and nothing stored for its key.
    await catalog.db.query('UPDATE carts SET pending_order = $2 WHERE id = $1', [cart.id, orderId]);
    const edit = await call(url, 'PUT', `/v1/carts/${cart.id}/items/${skus[0]}`, { quantity: 2 }, shopper);
    expect(edit.status).toBe(409);
    expect(edit.body).toMatchObject({ code: 'CATALOG_CART_CHECKOUT_PENDING', orderId });
    const done = await call(url, 'POST', `/v1/carts/${cart.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': randomUUID() });
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({ orderId, totalMinor: 1299 });
    expect((await call(url, 'GET', `/v1/carts/${cart.id}`, undefined, shopper)).body).toMatchObject({ status: 'checked_out', orderId, pendingOrder: null });
  });

  it('when several checkouts of one cart race with different keys, then one order and one saga come of it', async () => {
    const shopper = user(`race-${randomUUID()}`);
    const cart = (await call(url, 'POST', '/v1/carts', {}, shopper)).body;
    await call(url, 'PUT', `/v1/carts/${cart.id}/items/${skus[1]}`, { quantity: 1 }, shopper);
    const answers = await Promise.all([0, 1, 2, 3].map(() => call(url, 'POST', `/v1/carts/${cart.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': randomUUID() })));
    const placed = answers.filter((a) => a.status === 201);
    expect(placed.length).toBeGreaterThan(0);
    for (const a of answers.filter((x) => x.status !== 201)) expect(a.body).toMatchObject({ code: 'CATALOG_CART_CLOSED', orderId: placed[0]!.body.orderId });
    expect(new Set(placed.map((a) => a.body.orderId)).size).toBe(1);
    const { rows } = await orders.db.query<{ placed: number; sagas: number }>(
      "SELECT (SELECT count(*)::int FROM events WHERE stream_id LIKE $1 AND type = 'OrderPlaced') AS placed, (SELECT count(*)::int FROM checkout_sagas WHERE order_id LIKE $1) AS sagas",
      [`cart-${cart.id}-%`],
    );
    expect(rows[0]).toEqual({ placed: 1, sagas: 1 });
  });

  it('when orders refuses the order, then 422 names its problem and the cart is editable again', async () => {
    const shopper = user(`refused-${randomUUID()}`);
    // A product of its own: the sagas of the other tests hold (and release) stock of the shared ones.
    const sku = (await call(url, 'POST', '/v1/products', productBody(), ADMIN)).body.variants[0].sku as string;
    await call(inventory.url, 'PUT', `/v1/skus/${sku}`, { onHand: 10 });
    const cart = (await call(url, 'POST', '/v1/carts', {}, shopper)).body;
    const filled = (await call(url, 'PUT', `/v1/carts/${cart.id}/items/${sku}`, { quantity: 1 }, shopper)).body;
    // Someone else holds the order id the cart would become: orders hides it from this customer.
    const stranger = user(`stranger-${randomUUID()}`);
    await call(ordersService.url, 'POST', '/orders', { orderId: `cart-${cart.id}-r${filled.revision}`, customerId: stranger['x-auth-sub'] }, stranger);
    const refused = await call(url, 'POST', `/v1/carts/${cart.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': randomUUID() });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'CATALOG_CART_ORDER_REFUSED', upstream: { code: 'ORDERS_NOT_FOUND' } });
    const again = await call(url, 'PUT', `/v1/carts/${cart.id}/items/${sku}`, { quantity: 2 }, shopper);
    expect(again.body).toMatchObject({ status: 'open', pendingOrder: null });
  });

  it('when the user lacks the orders role, then checkout is 403 and consumes no key', async () => {
    const shopper = { 'x-auth-sub': `browser-${randomUUID()}`, 'x-auth-roles': '' };
    const cart = (await call(url, 'POST', '/v1/carts', {}, shopper)).body;
    const refused = await call(url, 'POST', `/v1/carts/${cart.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': randomUUID() });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'CATALOG_CART_ROLE_REQUIRED', role: 'orders' });
  });

  it('when stock fell below the cart at checkout, then 409 names the short line and no order is made', async () => {
    const shopper = user(`short-${randomUUID()}`);
    const sku = (await call(url, 'POST', '/v1/products', productBody(), ADMIN)).body.variants[0].sku as string;
    await call(inventory.url, 'PUT', `/v1/skus/${sku}`, { onHand: 3 });
    const cart = (await call(url, 'POST', '/v1/carts', {}, shopper)).body;
    await call(url, 'PUT', `/v1/carts/${cart.id}/items/${sku}`, { quantity: 3 }, shopper);
    await call(inventory.url, 'PUT', `/v1/skus/${sku}`, { onHand: 1 });
    const short = await call(url, 'POST', `/v1/carts/${cart.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': randomUUID() });
    expect(short.status).toBe(409);
    expect(short.body).toMatchObject({ code: 'CATALOG_CART_INSUFFICIENT_STOCK', items: [{ sku, requested: 3, available: 1 }] });
    const { rows } = await orders.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE stream_id LIKE $1', [`cart-${cart.id}-%`]);
    expect(rows[0]!.n).toBe(0);
    const empty = (await call(url, 'POST', '/v1/carts', {}, user(`empty-${randomUUID()}`))).body;
    expect((await call(url, 'POST', `/v1/carts/${empty.id}/checkout`, { address: ADDRESS }, { ...user('nobody'), 'idempotency-key': randomUUID() })).status).toBe(404);
  });

  it('when a cart expires, then it reads as expired, refuses writes with 410, a user gets it back emptied, and the sweeper deletes a guest\'s', async () => {
    const shopper = user(`expiry-${randomUUID()}`);
    const mine = (await call(url, 'POST', '/v1/carts', {}, shopper)).body;
    await call(url, 'PUT', `/v1/carts/${mine.id}/items/${skus[0]}`, { quantity: 1 }, shopper);
    await catalog.db.query("UPDATE carts SET expires_at = now() - interval '1 second' WHERE id = $1", [mine.id]);
    expect((await call(url, 'GET', `/v1/carts/${mine.id}`, undefined, shopper)).body).toMatchObject({ expired: true });
    const refused = await call(url, 'PUT', `/v1/carts/${mine.id}/items/${skus[0]}`, { quantity: 1 }, shopper);
    expect(refused.status).toBe(410);
    expect(refused.body.code).toBe('CATALOG_CART_EXPIRED');
    const renewed = await call(url, 'POST', '/v1/carts', {}, shopper);
    expect(renewed.body).toMatchObject({ id: mine.id, items: [], expired: false });

    // Expired a second ago: kept (CART_EXPIRED_KEEP_SECONDS, a day); two days ago: the sweeper's.
    const guest = await guestCart();
    await catalog.db.query("UPDATE carts SET expires_at = now() - interval '2 days' WHERE id = $1", [guest.id]);
    await waitFor(async () => (await call(url, 'GET', `/v1/carts/${guest.id}`, undefined, guestOf(guest.token))).status === 404, 'the sweeper deleted the expired guest cart', 10_000);
  });

  it('when input is bad, then 4xx problem+json', async () => {
    const { id, token } = await guestCart();
    for (const [method, path, body] of [
      ['PUT', `/v1/carts/${id}/items/${skus[0]}`, { quantity: 0 }],
      ['PUT', `/v1/carts/${id}/items/${skus[0]}`, { quantity: 'two' }],
      ['PUT', `/v1/carts/not-a-uuid/items/${skus[0]}`, { quantity: 1 }],
      ['POST', '/v1/carts', { tenant: 'no spaces allowed' }],
    ] as const) {
      const r = await call(url, method, path, body, guestOf(token));
      expect([r.status, r.headers.get('content-type')]).toEqual([400, PROBLEM]);
    }
    expect((await call(url, 'POST', '/v1/carts', {}, GUEST)).status).toBe(401);
    const shopper = user(`bad-${randomUUID()}`);
    const mine = (await call(url, 'POST', '/v1/carts', {}, shopper)).body;
    expect((await call(url, 'POST', `/v1/carts/${mine.id}/checkout`, { address: ADDRESS }, shopper)).body.code).toBe('IDEMPOTENCY_KEY_MISSING');
    expect((await call(url, 'POST', `/v1/carts/${mine.id}/checkout`, { address: ADDRESS }, { ...shopper, 'idempotency-key': randomUUID() })).body.code).toBe('CATALOG_CART_EMPTY');
  });
});
