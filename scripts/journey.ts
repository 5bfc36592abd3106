/**
 * The journey a new user takes, through the gateway only: register, read the
 * verification mail from the SMTP sink, verify, log in, search the seeded
 * catalog, read the product, merge the cart filled as a guest before signing
 * up, set the variant's quantity, check the cart out
 * with an Idempotency-Key (catalog creates the order and starts its
 * checkout saga in orders), see the payment
 * authorized and captured through the PSP simulator, the order confirmed, its
 * confirmation mail in the sink (notifications → identity with a service
 * token), the order in the history, the demo admin shipping it and the customer then reviewing the
 * product (catalog learns of the shipment from orders' events), and the order invisible to a user of
 * another organisation.
 * `npm run demo` prints each step; the first-run test runs it against a clone
 * started with `npm run up`. Also the demo data `up` seeds (idempotently).
 */
import { randomUUID } from 'node:crypto';
import { call as send, waitFor } from '@bulwark/test-support';
import { sendAPageView } from './journey/analytics.ts';
import { auditTheLogin } from './journey/audit.ts';
import { chatInARoom } from './journey/chat.ts';
import { publishAndServeAnArticle } from './journey/content.ts';
import { editDocument } from './journey/collab.ts';
import { flagGatedStep } from './journey/flags.ts';
import { uploadAFile } from './journey/files.ts';
import { shortenAndFollow } from './journey/shortener.ts';
import { storeAndReadASecret } from './journey/secrets.ts';

export interface PlatformUrls {
  /** The front door: every call of the journey goes through it. */
  gateway: string;
  /** The mail sink's web inbox (its REST API). */
  mail: string;
  /** inventory itself, for seeding stock (an operator's call, not a customer's). */
  inventory: string;
}

export interface Step {
  name: string;
  method: string;
  path: string;
  status: number;
  body: unknown;
}

export const DEMO_TENANT = 'bulwark';
/** A second organisation (identity's TENANTS), whose users must not see the first one's orders. */
export const OTHER_TENANT = 'acme';
export const DEMO_PASSWORD = 'bulwark-demo-only-password';
export const DEMO_CUSTOMER = 'customer@demo.bulwark.test';
export const DEMO_ADMIN = 'admin@demo.bulwark.test';
/** The journey's product: an anchor of the demo catalog (apps/catalog/src/seed/anchors.ts) and the SKU of its one variant. */
export const JOURNEY_PRODUCT = { query: 'bialetti moka', slug: 'bialetti-moka-express', sku: 'BIALETTI-MOKA-EXPRESS-STD' };
export const DEMO_SKUS: Record<string, number> = { mug: 100, tee: 50, poster: 20, [JOURNEY_PRODUCT.sku]: 1_000 };

/** Polls the sink until a mail to `to` received since `since` (epoch ms) arrives; returns the token the newest carries. */
async function tokenFromMail(mailUrl: string, to: string, since: number, deadlineMs = 30_000): Promise<string> {
  let token: string | undefined;
  await waitFor(
    async () => {
      const inbox = (await send(mailUrl, 'GET', '/api/email')).body as { to: { address: string }[]; text?: string; time?: string }[];
      // The sink stamps whole seconds: a mail of this registration is at most a second "older" than the request.
      const mine = inbox
        .filter((m) => m.to.some((a) => a.address.toLowerCase() === to.toLowerCase()) && Date.parse(m.time ?? '') >= since - 1_000)
        .sort((a, b) => Date.parse(a.time ?? '') - Date.parse(b.time ?? ''));
      token = /code is ([A-Za-z0-9_-]{16,})/.exec(mine.at(-1)?.text ?? '')?.[1];
      return token !== undefined;
    },
    `a mail to ${to} in the sink`,
    deadlineMs,
    200,
  );
  return token!;
}

/** Polls the sink until the order confirmation mail of `orderId` to `to` arrives; answers its subject and text. */
async function confirmationFromMail(mailUrl: string, to: string, orderId: string, deadlineMs = 30_000): Promise<{ subject: string; text: string }> {
  let found: { subject: string; text: string } | undefined;
  await waitFor(
    async () => {
      const inbox = (await send(mailUrl, 'GET', '/api/email')).body as { to: { address: string }[]; subject?: string; text?: string; html?: string }[];
      const mail = inbox.find((m) => m.to.some((a) => a.address.toLowerCase() === to.toLowerCase()) && m.subject === `Order ${orderId} confirmed`);
      // The mail is HTML only: its text is the markup without tags.
      found = mail && { subject: mail.subject!, text: (mail.text || (mail.html ?? '').replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim() };
      return found !== undefined;
    },
    `the confirmation mail of order ${orderId} to ${to} in the sink`,
    deadlineMs,
    200,
  );
  return found!;
}

/**
 * Logs in, or (for an account that does not exist yet) creates it, verifies it through the mail it
 * gets and logs in; returns its access token. `fresh`: the address is new, so skip the first login.
 */
async function registeredSession(
  urls: PlatformUrls,
  email: string,
  step: (s: Step) => void,
  expect: (s: Step, ok: number[]) => void,
  tenant = DEMO_TENANT,
  options: { fresh?: boolean } = {},
): Promise<string> {
  const login = async () => {
    const r = await send(urls.gateway, 'POST', '/v1/sessions', { tenant, email, password: DEMO_PASSWORD });
    return { name: 'log in', method: 'POST', path: '/v1/sessions', ...r };
  };
  if (!options.fresh) {
    const first = await login();
    if (first.status === 200 || first.status === 201) {
      step(first);
      return first.body.accessToken as string;
    }
  }
  const since = Date.now();
  const reg = { name: 'register', method: 'POST', path: '/v1/accounts', ...(await send(urls.gateway, 'POST', '/v1/accounts', { tenant, email, password: DEMO_PASSWORD })) };
  expect(reg, [202]);
  const token = await tokenFromMail(urls.mail, email, since);
  step({ name: 'read the verification mail from the sink', method: 'GET', path: `${urls.mail}/api/email`, status: 200, body: { to: email, token: `${token.slice(0, 6)}…` } });
  const verify = { name: 'verify the email', method: 'POST', path: '/v1/accounts/verify', ...(await send(urls.gateway, 'POST', '/v1/accounts/verify', { token })) };
  expect(verify, [200]);
  const session = await login();
  expect(session, [200, 201]);
  return session.body.accessToken as string;
}

function checker(step: (s: Step) => void): (s: Step, ok: number[]) => void {
  return (s, ok) => {
    step(s);
    if (!ok.includes(s.status)) throw new Error(`journey step "${s.name}" (${s.method} ${s.path}) answered ${s.status}: ${JSON.stringify(s.body)}`);
  };
}

/**
 * Stock for the demo SKUs (only where a SKU is missing: a re-run never resets stock) and the demo
 * customer and admin; returns their access tokens. Logins through the gateway share the `login`
 * rate limit per IP (10 a minute): `up` followed by the journey stays under it.
 */
export async function seedDemo(urls: PlatformUrls, step: (s: Step) => void = () => undefined): Promise<{ customer: string; admin: string }> {
  const expect = checker(step);
  for (const [sku, onHand] of Object.entries(DEMO_SKUS)) {
    const existing = await send(urls.inventory, 'GET', `/v1/skus/${sku}`);
    if (existing.status === 200) continue;
    expect({ name: `stock ${sku}`, method: 'PUT', path: `/v1/skus/${sku}`, ...(await send(urls.inventory, 'PUT', `/v1/skus/${sku}`, { onHand })) }, [200, 201]);
  }
  const customer = await registeredSession(urls, DEMO_CUSTOMER, step, expect);
  const admin = await registeredSession(urls, DEMO_ADMIN, step, expect);
  // The demo catalog goes into the organisation's tenant, whose id only a token names: the admin asks catalog to load it (in the background; existing slugs are kept).
  const catalog = await send(urls.gateway, 'POST', '/v1/products/demo-catalog', {}, { authorization: `Bearer ${admin}` });
  expect({ name: 'load the demo catalog', method: 'POST', path: '/v1/products/demo-catalog', ...catalog }, [202]);
  return { customer, admin };
}

/** The whole journey for a new account; throws naming the first step that fails. */
export async function runJourney(urls: PlatformUrls, step: (s: Step) => void = () => undefined): Promise<{ orderId: string; paymentId: string; email: string }> {
  const expect = checker(step);
  const demo = await seedDemo(urls);
  const search = `/v1/products/search?q=${encodeURIComponent(JOURNEY_PRODUCT.query)}`;
  const topFive = (body: { items?: { id: string; slug: string }[] }) => (body.items ?? []).slice(0, 5);
  // Right after `up` the demo catalog may still be loading (judged by the search step below).
  const demoAuth = { authorization: `Bearer ${demo.customer}` };
  await waitFor(async () => topFive((await send(urls.gateway, 'GET', search, undefined, demoAuth)).body).some((p) => p.slug === JOURNEY_PRODUCT.slug), `${JOURNEY_PRODUCT.slug} searchable`, 120_000, 500).catch(() => undefined);

  // Before signing up, a guest fills a cart; the storefront knows its organisation's tenant id (the one tokens carry).
  const tenant = (JSON.parse(Buffer.from(demo.customer.split('.')[1] ?? '', 'base64url').toString()) as { tenant: string }).tenant;
  const guest = { name: 'a guest opens a cart', method: 'POST', path: '/v1/carts', ...(await send(urls.gateway, 'POST', '/v1/carts', { tenant })) };
  expect(guest, [201]);
  const guestToken = guest.body.guestToken as string;
  const guestLine = `/v1/carts/${guest.body.id}/items/${JOURNEY_PRODUCT.sku}`;
  expect({ name: 'the guest adds the variant', method: 'PUT', path: guestLine, ...(await send(urls.gateway, 'PUT', guestLine, { quantity: 1 }, { 'cart-token': guestToken })) }, [200]);

  const email = `journey-${randomUUID().slice(0, 8)}@demo.bulwark.test`;
  const token = await registeredSession(urls, email, step, expect, DEMO_TENANT, { fresh: true });
  const auth = { authorization: `Bearer ${token}` };
  const call = async (name: string, method: string, path: string, ok: number[], body?: unknown, headers: Record<string, string> = {}) => {
    const s = { name, method, path, ...(await send(urls.gateway, method, path, body, { ...auth, ...headers })) };
    expect(s, ok);
    return s.body;
  };
  const me = await call('who am I', 'GET', '/v1/me', [200]);
  const found = await call('search the catalog', 'GET', search, [200]);
  const hit = topFive(found).find((p) => p.slug === JOURNEY_PRODUCT.slug);
  if (!hit) throw new Error(`"${JOURNEY_PRODUCT.query}" did not find ${JOURNEY_PRODUCT.slug} in its top 5: ${JSON.stringify(found.items?.slice(0, 5).map((p: { slug: string }) => p.slug))}`);
  const product = await call('the product', 'GET', `/v1/products/${hit.id}`, [200]);
  const variant = (product.variants as { sku: string; price: { amount: number } }[]).find((v) => v.sku === JOURNEY_PRODUCT.sku);
  if (!variant) throw new Error(`product ${JOURNEY_PRODUCT.slug} has no variant ${JOURNEY_PRODUCT.sku}`);
  const cart = await call('open the cart', 'POST', '/v1/carts', [200, 201], {});
  const merged = await call("merge the guest's cart at login", 'POST', `/v1/carts/${cart.id}/merge`, [200], { guestToken });
  if (!merged.items.some((l: { sku: string; quantity: number }) => l.sku === JOURNEY_PRODUCT.sku && l.quantity === 1)) throw new Error(`the merged cart lacks the guest's line: ${JSON.stringify(merged.items)}`);
  const filled = await call('add the variant to the cart', 'PUT', `/v1/carts/${cart.id}/items/${variant.sku}`, [200], { quantity: 2 });
  if (filled.totalMinor !== 2 * variant.price.amount) throw new Error(`the cart totals ${filled.totalMinor}, not 2 × ${variant.price.amount}`);
  const address = { line1: '1 Main St', city: 'Lyon', postalCode: '69001', country: 'FR' };
  const key = randomUUID();
  const checkedOut = await call('check out the cart (Idempotency-Key)', 'POST', `/v1/carts/${cart.id}/checkout`, [201], { address }, { 'idempotency-key': key });
  const replay = await call('the same checkout again (same key: replayed, not run twice)', 'POST', `/v1/carts/${cart.id}/checkout`, [201], { address }, { 'idempotency-key': key });
  if (replay.orderId !== checkedOut.orderId || replay.saga.sagaId !== checkedOut.saga.sagaId) throw new Error(`the replayed checkout made another order or saga (${JSON.stringify(replay)} ≠ ${JSON.stringify(checkedOut)})`);
  const orderId = checkedOut.orderId as string;
  const saga = checkedOut.saga;
  let status = saga;
  await waitFor(async () => {
    status = (await send(urls.gateway, 'GET', `/v1/orders/${orderId}/checkout`, undefined, auth)).body;
    return status.status === 'completed' || status.status === 'failed';
  }, `the checkout of ${orderId} to finish`, 30_000, 250).catch(() => undefined); // judged below, with the steps it got to
  expect({ name: 'checkout finished', method: 'GET', path: `/v1/orders/${orderId}/checkout`, status: status.status === 'completed' ? 200 : 500, body: { status: status.status, steps: status.steps?.map((s: { step: string; outcome: string }) => `${s.step}:${s.outcome}`) } }, [200]);
  const paymentId = status.paymentId as string;
  const payment = await call('the payment, through the gateway', 'GET', `/v1/payments/${paymentId}`, [200]);
  if (payment.status !== 'captured') throw new Error(`payment ${paymentId} is ${payment.status}, not captured`);
  let order = await call('the order', 'GET', `/v1/orders/${orderId}`, [200, 404]);
  await waitFor(async () => {
    order = (await send(urls.gateway, 'GET', `/v1/orders/${orderId}`, undefined, auth)).body;
    return order?.status === 'confirmed';
  }, `order ${orderId} confirmed in the read model`, 10_000, 200).catch(() => undefined); // judged below
  if (order?.status !== 'confirmed') throw new Error(`order ${orderId} is ${order?.status ?? 'not in the read model'}, not confirmed`);
  step({ name: 'order confirmed in the read model', method: 'GET', path: `/v1/orders/${orderId}`, status: 200, body: { status: order.status, totalCents: order.totalCents, version: order.version } });
  // notifications consumed order-confirmed, asked identity for the customer's address with its own service token, and mailed it.
  const confirmation = await confirmationFromMail(urls.mail, email, orderId);
  step({ name: 'read the order confirmation mail from the sink', method: 'GET', path: `${urls.mail}/api/email`, status: 200, body: { to: email, ...confirmation } });
  const history = await call('order history', 'GET', `/v1/customers/${me.id}/orders`, [200]);
  if (!history.orders.some((o: { orderId: string }) => o.orderId === orderId)) throw new Error(`order ${orderId} is not in ${email}'s history`);

  // The demo admin ships the order (orders' admin API through the gateway); catalog learns it from
  // orders' events on Kafka, and from then on the customer may review the product.
  const adminAuth = { authorization: `Bearer ${demo.admin}` };
  const ship = `/v1/admin/orders/${orderId}/ship`;
  expect({ name: 'the admin ships the order', method: 'POST', path: ship, ...(await send(urls.gateway, 'POST', ship, { carrier: 'demo-post' }, adminAuth)) }, [200]);
  const reviewPath = `/v1/products/${hit.id}/reviews/mine`;
  let review: Step = { name: 'review the product', method: 'PUT', path: reviewPath, status: 0, body: undefined };
  await waitFor(async () => {
    review = { ...review, ...(await send(urls.gateway, 'PUT', reviewPath, { rating: 5, title: 'Strong coffee', body: 'Arrived quickly.' }, auth)) };
    return (review.body as { code?: unknown } | undefined)?.code !== 'CATALOG_REVIEW_NOT_DELIVERED';
  }, 'catalog to see the order shipped (orders\' events)', 30_000, 250).catch(() => undefined); // judged below
  expect(review, [201]);
  const rated = await call('the product shows its rating', 'GET', `/v1/products/${hit.id}`, [200]);
  if (!(rated.rating?.count >= 1)) throw new Error(`product ${hit.id} shows no rating after the review: ${JSON.stringify(rated.rating)}`);

  // Webhook endpoints are the organisation's, managed by its admins; the tenant comes from the token.
  await call('a customer lists the webhook endpoints (admins only)', 'GET', '/v1/webhooks/endpoints', [403]);
  expect({ name: 'the admin lists its organisation\'s webhook endpoints', method: 'GET', path: '/v1/webhooks/endpoints', ...(await send(urls.gateway, 'GET', '/v1/webhooks/endpoints', undefined, adminAuth)) }, [200]);

  // Someone of another organisation: the order does not exist for them.
  const other = `journey-${randomUUID().slice(0, 8)}@acme.test`;
  const otherAuth = { authorization: `Bearer ${await registeredSession(urls, other, step, expect, OTHER_TENANT, { fresh: true })}` };
  const peek = async (name: string, path: string, ok: number[]) => expect({ name, method: 'GET', path, ...(await send(urls.gateway, 'GET', path, undefined, otherAuth)) }, ok);
  await peek(`${OTHER_TENANT}'s user reads the order`, `/v1/orders/${orderId}`, [404]);
  await peek(`${OTHER_TENANT}'s user reads its checkout`, `/v1/orders/${orderId}/checkout`, [404]);
  await peek(`${OTHER_TENANT}'s user reads the history`, `/v1/customers/${me.id}/orders`, [403]);
  await auditTheLogin(urls, { customer: token, admin: demo.admin }, step);
  await shortenAndFollow(urls, token, `https://shop.example/orders/${orderId}`, step);
  await flagGatedStep(urls, { customer: token, admin: demo.admin }, step);
  await editDocument(urls, token, step);
  await uploadAFile(urls, token, step);
  await chatInARoom(urls, token, step);
  await sendAPageView(urls, token, `/orders/${orderId}`, step);
  await storeAndReadASecret(urls, { customer: token, admin: demo.admin }, step);
  await publishAndServeAnArticle(urls, token, step);
  return { orderId, paymentId, email };
}
