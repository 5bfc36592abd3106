/**
 * The checkout saga against real PostgreSQL (and the real orders process for
 * the crash tests), with inventory and payments played by CONTRACT STUBS
 * (test/contract-stubs.ts: in-test servers honouring the issue 7 HTTP
 * contracts, not the real services — see README "Checkout saga").
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePort } from '@bulwark/test-support';
import { readStream } from '../src/store/event-store.ts';
import { startInventoryStub, startPaymentsStub } from './contract-stubs.ts';
import { sharedServiceIssuer, type ServiceIssuer } from '../../identity/test/service-issuer.ts';
import { ADDRESS, call, setupOrders, waitFor, type TestOrders } from './support.ts';

type Inventory = Awaited<ReturnType<typeof startInventoryStub>>;
type Payments = Awaited<ReturnType<typeof startPaymentsStub>>;

const FAST = { SAGA_POLL_MS: '20', SAGA_RETRY_BASE_MS: '20', SAGA_RETRY_CAP_MS: '200', SAGA_STEP_TIMEOUT_MS: '2000' };

async function draftOrder(url: string, items: { sku: string; quantity: number; unitPriceCents: number }[]): Promise<string> {
  const id = (await call(url, 'POST', '/orders', { customerId: 'c' })).body.order.orderId as string;
  for (const item of items) expect((await call(url, 'POST', `/orders/${id}/items`, item)).status).toBe(200);
  expect((await call(url, 'PUT', `/orders/${id}/address`, { address: ADDRESS })).status).toBe(200);
  return id;
}

/** POST /orders/:id/checkout with an Idempotency-Key (a fresh one unless given). */
function checkout(url: string, id: string, key = randomUUID(), body: unknown = {}) {
  return call(url, 'POST', `/orders/${id}/checkout`, body, { 'idempotency-key': key });
}

async function sagaCounts(t: TestOrders): Promise<Record<string, number>> {
  const { rows } = await t.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM checkout_sagas GROUP BY status');
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

async function allFinished(t: TestOrders, total: number): Promise<boolean> {
  const c = await sagaCounts(t);
  return (c.completed ?? 0) + (c.failed ?? 0) === total;
}

/**
 * Reconciliation: what the orders side recorded (completed sagas and their
 * amounts and quantities) against what the payments and inventory sides hold.
 */
async function reconcile(t: TestOrders, inventory: Inventory, payments: Payments, sku: string, initialOnHand: number): Promise<void> {
  const { rows } = await t.db.query<{ status: string; orders: number; amount: string; quantity: string }>(`
    SELECT s.status, count(*)::int AS orders, coalesce(sum((s.state->>'amountCents')::bigint), 0)::text AS amount,
           coalesce(sum((SELECT sum((i->>'quantity')::int) FROM jsonb_array_elements(s.state->'items') i WHERE i->>'sku' = $1)), 0)::text AS quantity
    FROM checkout_sagas s GROUP BY s.status`, [sku]);
  const completed = rows.find((r) => r.status === 'completed');
  const completedAmount = Number(completed?.amount ?? 0);
  const completedQuantity = Number(completed?.quantity ?? 0);
  expect(rows.every((r) => r.status === 'completed' || r.status === 'failed')).toBe(true);
  // Money: captured − refunded equals the completed orders' totals; nothing left authorized.
  expect(payments.netCaptured()).toBe(completedAmount);
  expect([...payments.payments.values()].filter((p) => p.status === 'authorized')).toEqual([]);
  // At most one payment per order, whatever the retries.
  const perOrder = new Map<string, number>();
  for (const p of payments.payments.values()) perOrder.set(p.orderId, (perOrder.get(p.orderId) ?? 0) + 1);
  expect([...perOrder.values()].every((n) => n === 1)).toBe(true);
  // Stock: on hand fell by exactly the completed quantities; nothing left held; never negative.
  expect(inventory.sku(sku)).toMatchObject({ onHand: initialOnHand - completedQuantity, reserved: 0 });
  expect([...inventory.reservations.values()].filter((r) => r.status === 'held')).toEqual([]);
  expect(inventory.lowestAvailable()).toBeGreaterThanOrEqual(0);
}

describe('checkout saga (contract stubs for inventory and payments)', () => {
  let t: TestOrders;
  let inventory: Inventory;
  let payments: Payments;
  const cleanups: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    t = await setupOrders();
    issuer = await sharedServiceIssuer();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await t.cleanup();
    await inventory?.close();
    await payments?.close();
  });
  let issuer: ServiceIssuer;
  const sagaEnv = (extra: Record<string, string> = {}) => ({ INVENTORY_URL: inventory.url, PAYMENTS_URL: payments.url, ...issuer.ordersEnv, ...FAST, ...extra });

  it('when stock and payment are fine, then the saga reserves, authorizes, confirms and captures, and the order stream records every step and reaches Kafka', async () => {
    inventory = await startInventoryStub();
    payments = await startPaymentsStub();
    await call(inventory.url, 'PUT', '/v1/skus/book', { onHand: 5 });
    const { app, url } = await t.start({ relay: true, env: sagaEnv() });
    const id = await draftOrder(url, [{ sku: 'book', quantity: 2, unitPriceCents: 1500 }]);
    const started = await checkout(url, id);
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ orderId: id, status: 'running', step: 'reserve_stock', amountCents: 3000, currency: 'EUR' });
    await waitFor(() => allFinished(t, 1), 'saga finished');
    const status = await call(url, 'GET', `/orders/${id}/checkout`);
    expect(status.body).toMatchObject({ status: 'completed', step: null, failure: null, expired: false });
    expect(status.body.steps.map((s: { step: string; outcome: string }) => `${s.step}:${s.outcome}`)).toEqual(['reserve_stock:ok', 'authorize_payment:ok', 'confirm_order:ok', 'capture_payment:ok']);
    expect((await readStream(t.db, id)).map((e) => e.type)).toEqual(['OrderCreated', 'ItemAdded', 'AddressSet', 'OrderPlaced', 'StockReserved', 'PaymentAuthorized', 'OrderConfirmed', 'PaymentCaptured']);
    await reconcile(t, inventory, payments, 'book', 5);
    expect(inventory.sku('book')).toMatchObject({ onHand: 3, reserved: 0 });
    // The saga's events go to Kafka with the rest of the stream (CDC relay; an unknown type would be skipped, not published).
    await waitFor(() => app.workers.relay!.published >= 8, 'all 8 events of the order acknowledged by Kafka');
    // A retried checkout answers the same saga. Checkout is the one endpoint that places an order (no /place beside
    // it), and a placed order takes no more changes.
    const again = await checkout(url, id);
    expect(again.status).toBe(200);
    expect(again.body.sagaId).toBe(started.body.sagaId);
    expect((await call(url, 'POST', `/orders/${id}/place`, {})).status).toBe(404);
    expect((await call(url, 'POST', `/orders/${id}/items`, { sku: 'pen', quantity: 1, unitPriceCents: 100 })).body.code).toBe('ORDERS_INVALID_STATE');
  });

  it('when 50 checkouts race for 10 units, then exactly 10 complete, 40 fail cleanly with nothing held, and stock ends at 0, never negative', async () => {
    inventory = await startInventoryStub();
    payments = await startPaymentsStub();
    await call(inventory.url, 'PUT', '/v1/skus/hot', { onHand: 10 });
    const { url } = await t.start({ env: sagaEnv() });
    const ids = await Promise.all(Array.from({ length: 50 }, () => draftOrder(url, [{ sku: 'hot', quantity: 1, unitPriceCents: 999 }])));
    const answers = await Promise.all(ids.map((id) => checkout(url, id)));
    expect(answers.every((a) => a.status === 202)).toBe(true);
    await waitFor(() => allFinished(t, 50), 'all 50 sagas finished', 60_000);
    expect(await sagaCounts(t)).toEqual({ completed: 10, failed: 40 });
    const { rows } = await t.db.query<{ reason: string; n: number }>("SELECT state->'failure'->>'reason' AS reason, count(*)::int AS n FROM checkout_sagas WHERE status = 'failed' GROUP BY 1");
    expect(rows).toEqual([{ reason: 'insufficient-stock', n: 40 }]);
    expect(inventory.sku('hot')).toMatchObject({ onHand: 0, reserved: 0, available: 0 });
    expect(payments.authorizations()).toBe(10);
    await reconcile(t, inventory, payments, 'hot', 10);
  }, 120_000);

  it('when the payment is declined, then the stock is released, no money moves and the order is checkout_failed', async () => {
    inventory = await startInventoryStub();
    payments = await startPaymentsStub({ behaviour: () => 'decline' });
    await call(inventory.url, 'PUT', '/v1/skus/lamp', { onHand: 3 });
    const { app, url } = await t.start({ env: sagaEnv() });
    const id = await draftOrder(url, [{ sku: 'lamp', quantity: 3, unitPriceCents: 100 }]);
    await checkout(url, id);
    await waitFor(() => allFinished(t, 1), 'saga finished');
    const status = (await call(url, 'GET', `/orders/${id}/checkout`)).body;
    expect(status).toMatchObject({ status: 'failed', failure: { step: 'authorize_payment', reason: 'payment-declined' } });
    expect((await readStream(t.db, id)).map((e) => e.type).slice(3)).toEqual(['OrderPlaced', 'StockReserved', 'StockReleased', 'CheckoutFailed']);
    expect(inventory.sku('lamp')).toMatchObject({ onHand: 3, reserved: 0 });
    expect(payments.payments.size).toBe(0);
    await app.workers.catchUp();
    expect((await call(url, 'GET', `/orders/${id}`)).body.status).toBe('checkout_failed');
    await reconcile(t, inventory, payments, 'lamp', 3);
  });

  it('when payments keep timing out after authorizing, then past its deadline the saga voids the payment, releases the stock, and counts the expiry', async () => {
    inventory = await startInventoryStub();
    payments = await startPaymentsStub({ behaviour: () => 'slow', slowMs: 1_000 });
    await call(inventory.url, 'PUT', '/v1/skus/slow', { onHand: 1 });
    const { url } = await t.start({ env: sagaEnv({ SAGA_STEP_TIMEOUT_MS: '200', SAGA_DEADLINE_MS: '1500' }) });
    const id = await draftOrder(url, [{ sku: 'slow', quantity: 1, unitPriceCents: 700 }]);
    await checkout(url, id);
    await waitFor(() => allFinished(t, 1), 'saga finished');
    const status = (await call(url, 'GET', `/orders/${id}/checkout`)).body;
    expect(status).toMatchObject({ status: 'failed', expired: true, failure: { step: 'authorize_payment' } });
    expect(status.failure.reason).toMatch(/^deadline-exceeded/);
    expect(status.steps.filter((s: { outcome: string }) => s.outcome === 'transient').length).toBeGreaterThan(0);
    // The PSP did authorize (its answer was just late): the compensation found and voided it.
    expect([...payments.payments.values()].map((p) => p.status)).toEqual(['voided']);
    expect(inventory.sku('slow')).toMatchObject({ onHand: 1, reserved: 0 });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^orders_checkout_sagas_expired_total(\{[^}]*\})? 1$/m);
    await reconcile(t, inventory, payments, 'slow', 1);
  });

  it('when the same checkout is sent 20 times at once with one key, then there is one saga, one payment authorization and 19 replays of the same response', async () => {
    inventory = await startInventoryStub();
    payments = await startPaymentsStub();
    await call(inventory.url, 'PUT', '/v1/skus/pen', { onHand: 10 });
    const { url } = await t.start({ env: sagaEnv() });
    const id = await draftOrder(url, [{ sku: 'pen', quantity: 1, unitPriceCents: 250 }]);
    const answers = await Promise.all(Array.from({ length: 20 }, () => checkout(url, id)));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(19);
    expect(new Set(answers.map((a) => a.body.sagaId)).size).toBe(1);
    await waitFor(() => allFinished(t, 1), 'saga finished');
    expect(payments.authorizations()).toBe(1);
    await reconcile(t, inventory, payments, 'pen', 10);
  });

  it('when checkout input is bad, then it answers problem+json and records nothing', async () => {
    inventory = await startInventoryStub();
    payments = await startPaymentsStub();
    const { url } = await t.start({ env: sagaEnv() });
    expect((await checkout(url, 'nope')).body.code).toBe('ORDERS_NOT_FOUND');
    const empty = (await call(url, 'POST', '/orders', { customerId: 'c' })).body.order.orderId as string;
    const r = await checkout(url, empty);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'ORDERS_RULE_VIOLATED', rule: 'has-items' });
    expect((await call(url, 'POST', `/orders/${empty}/checkout`, { expectedVersion: 'x' })).status).toBe(400);
    expect((await call(url, 'GET', `/orders/${empty}/checkout`)).status).toBe(404);
    expect(await sagaCounts(t)).toEqual({});
  });

  describe('crash of the orders process', () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

    async function startProcess(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; exited: Promise<unknown> }> {
      const port = await freePort();
      const child = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', main], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
      const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      });
      const url = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, 'orders process ready');
      return { child, url, exited };
    }

    it('when the process is SIGKILLed at each saga step in turn, then after a restart every saga finishes or compensates and money and stock reconcile', async () => {
      // Which request kills the process (the stub applies it, the answer is lost): one saga per step.
      const killAt: { name: string; match: (method: string, path: string) => boolean; decline: boolean }[] = [
        { name: 'reserve_stock', match: (m, p) => m === 'POST' && p === '/v1/internal/reservations', decline: false },
        { name: 'authorize_payment', match: (m, p) => m === 'POST' && p === '/v1/internal/payments', decline: false },
        { name: 'confirm_order', match: (m, p) => m === 'POST' && p.endsWith('/confirm'), decline: false },
        { name: 'capture_payment', match: (m, p) => m === 'POST' && p.endsWith('/capture'), decline: false },
        { name: 'release_stock (compensation)', match: (m, p) => m === 'POST' && p.endsWith('/release'), decline: true },
      ];
      let armed: ((method: string, path: string) => boolean) | undefined;
      let current: { child: ChildProcess; exited: Promise<unknown> } | undefined;
      const kills: string[] = [];
      const onRequest = async (method: string, path: string) => {
        if (armed?.(method, path) && current) {
          armed = undefined;
          current.child.kill('SIGKILL');
          await current.exited;
          kills.push(`${method} ${path}`);
        }
      };
      let declineOrder: string | undefined;
      inventory = await startInventoryStub({ onRequest });
      payments = await startPaymentsStub({ onRequest, behaviour: (orderId) => (orderId === declineOrder ? 'decline' : 'approve') });
      await call(inventory.url, 'PUT', '/v1/skus/mug', { onHand: 20 });
      const env = t.env({ env: sagaEnv({ SAGA_LEASE_MS: '1000' }) });
      let proc = await startProcess(env);
      current = proc;
      for (const [i, step] of killAt.entries()) {
        const id = await draftOrder(proc.url, [{ sku: 'mug', quantity: 2, unitPriceCents: 450 }]);
        if (step.decline) declineOrder = id;
        armed = step.match;
        expect((await checkout(proc.url, id)).status).toBe(202);
        await waitFor(() => kills.length === i + 1, `process killed at ${step.name}`);
        expect(await proc.exited).toBe('SIGKILL');
        proc = await startProcess(env);
        current = proc;
        await waitFor(() => allFinished(t, i + 1), `saga killed at ${step.name} finished after the restart`);
      }
      expect(await sagaCounts(t)).toEqual({ completed: 4, failed: 1 });
      const { rows } = await t.db.query<{ step: string; n: number }>("SELECT step, count(*)::int AS n FROM checkout_saga_steps WHERE outcome = 'ok' GROUP BY step ORDER BY step");
      // Every step succeeded exactly once per saga in the log, although some ran twice (once before the kill).
      expect(Object.fromEntries(rows.map((r) => [r.step, r.n]))).toEqual({ authorize_payment: 4, capture_payment: 4, confirm_order: 4, mark_failed: 1, release_stock: 1, reserve_stock: 5 });
      expect(inventory.replays() + payments.replays()).toBeGreaterThanOrEqual(4); // the re-sent steps were answered from the idempotency store
      await reconcile(t, inventory, payments, 'mug', 20);
    }, 180_000);
  });
});
