/**
 * The checkout saga end to end against the REAL services started as child
 * processes from their own entry points: inventory (apps/inventory), the PSP
 * simulator and payments (apps/payments), each in its own PostgreSQL schema;
 * orders runs in-process (real HTTP server, real saga runner).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sharedServiceIssuer, type ServiceIssuer } from '../../identity/test/service-issuer.ts';
import { ADDRESS, call, pgUrl, setupOrders, silent, suffix, waitFor, type TestOrders } from './support.ts';
import { createPool } from '@bulwark/db';
import { freePort, runtimeDbUrl, startFaultProxy, startService, type FaultRule, type ProxiedRequest, type Service } from '@bulwark/test-support';
import { Registry } from 'prom-client';
import { SIGNATURE_HEADER, signatureHeader } from '@bulwark/webhook-signature';

interface PspState {
  webhooks: { delivered: number; gaveUp: number; inFlight: number };
}

const entry = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));
const ENTRIES = { inventory: entry('inventory/src/main.ts'), payments: entry('payments/src/main.ts'), psp: entry('payments/src/psp/main.ts') };
const available = Object.values(ENTRIES).every((f) => fs.existsSync(f));

async function draftOrder(url: string, sku: string, quantity: number, unitPriceCents: number): Promise<string> {
  const id = (await call(url, 'POST', '/orders', { customerId: 'c' })).body.order.orderId as string;
  await call(url, 'POST', `/orders/${id}/items`, { sku, quantity, unitPriceCents });
  await call(url, 'PUT', `/orders/${id}/address`, { address: ADDRESS });
  return id;
}

(available ? describe : describe.skip)('checkout saga end to end (real inventory, payments and PSP simulator as processes)', () => {
  let t: TestOrders;
  let url: string;
  const id = suffix();
  const schemas = { inventory: `inventory_e2e_${id}`, payments: `payments_e2e_${id}` };
  const services: Service[] = [];
  let inventory: Service;
  let payments: Service;
  let psp: Service;
  const webhookSecret = `whsec_${randomUUID()}`;

  let issuer: ServiceIssuer;

  beforeAll(async () => {
    // The real identity: orders' client-credentials token on every saga call, verified by inventory and payments.
    issuer = await sharedServiceIssuer();
    const paymentsPort = await freePort();
    psp = await startService({ name: 'psp', main: ENTRIES.psp, env: { PSP_WEBHOOK_URLS: `http://127.0.0.1:${paymentsPort}/v1/psp/webhooks`, PSP_WEBHOOK_SECRETS: webhookSecret } });
    services.push(psp);
    inventory = await startService({ name: 'inventory', main: ENTRIES.inventory, env: { DATABASE_URL: await runtimeDbUrl(pgUrl()), MIGRATION_DATABASE_URL: pgUrl(), INVENTORY_SCHEMA: schemas.inventory, IDEMPOTENCY_CONCURRENT: 'wait', EVENTS_ENABLED: 'false', ...issuer.verifierEnv } });
    services.push(inventory);
    // payments must listen where the PSP sends webhooks: start it on the port chosen above.
    payments = await startService({
      name: 'payments',
      main: ENTRIES.payments,
      port: paymentsPort,
      env: { DATABASE_URL: await runtimeDbUrl(pgUrl()), MIGRATION_DATABASE_URL: pgUrl(), PAYMENTS_SCHEMA: schemas.payments, PSP_URL: psp.url, PSP_WEBHOOK_SECRETS: webhookSecret, EVENTS_ENABLED: 'false', ...issuer.verifierEnv },
    });
    services.push(payments);
    t = await setupOrders();
    ({ url } = await t.start({ env: { INVENTORY_URL: inventory.url, PAYMENTS_URL: payments.url, ...issuer.ordersEnv, SAGA_POLL_MS: '20', SAGA_RETRY_BASE_MS: '50', SAGA_RETRY_CAP_MS: '500' } }));
  }, 180_000);

  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c().catch(() => undefined);
    await t?.cleanup();
    for (const s of services.reverse()) await s.stop();
    const db = createPool({ connectionString: pgUrl(), name: `orders_e2e_cleanup_${id}`, max: 1, registry: new Registry(), log: silent });
    for (const schema of Object.values(schemas)) await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db.close();
  });

  /** Whether every saga of these orders has ended (other tests' sagas share the table, so count only these). */
  async function finished(orderIds: string[]): Promise<boolean> {
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM checkout_sagas WHERE order_id = ANY($1) AND status IN ('completed', 'failed')", [orderIds]);
    return rows[0]!.n === orderIds.length;
  }

  it('when 50 checkouts race for 10 units, then exactly 10 orders are confirmed and paid, 40 fail cleanly, and stock ends at 0', async () => {
    const sku = `e2e-${id}`;
    expect((await call(inventory.url, 'PUT', `/v1/skus/${sku}`, { onHand: 10 })).status).toBe(200);
    const ids = await Promise.all(Array.from({ length: 50 }, () => draftOrder(url, sku, 1, 1_250)));
    const answers = await Promise.all(ids.map((o) => call(url, 'POST', `/orders/${o}/checkout`, {}, { 'idempotency-key': randomUUID() })));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(202));
    await waitFor(() => finished(ids), 'all 50 sagas finished', 120_000);
    const { rows } = await t.db.query<{ status: string; reason: string | null; n: number }>(
      "SELECT status, state->'failure'->>'reason' AS reason, count(*)::int AS n FROM checkout_sagas GROUP BY 1, 2 ORDER BY 1",
    );
    expect(rows).toEqual([
      { status: 'completed', reason: null, n: 10 },
      { status: 'failed', reason: 'insufficient-stock', n: 40 },
    ]);
    expect((await call(inventory.url, 'GET', `/v1/skus/${sku}`)).body).toMatchObject({ onHand: 0, reserved: 0, available: 0 });
    // Money: one captured payment per completed order, none for the failed ones.
    const completed = (await t.db.query<{ order_id: string }>("SELECT order_id FROM checkout_sagas WHERE status = 'completed'")).rows.map((r) => r.order_id);
    for (const o of ids) {
      const listed = (await call(payments.url, 'GET', `/v1/payments?orderId=${o}`)).body.payments as { status: string; amount: number }[];
      if (completed.includes(o)) expect(listed.map((p) => [p.status, p.amount])).toEqual([['captured', 1_250]]);
      else expect(listed).toEqual([]);
    }
  }, 240_000);

  it('when the orders process is SIGKILLed just before and just after each forward step and each compensation takes effect at the real service, then after a restart every saga ends once and money and stock reconcile', async () => {
    // Proxies in front of the real inventory and payments make the kill point exact, in two passes:
    // 'answered': the request reaches the service and takes effect, the proxy reads the answer, and only
    // then is orders killed, so the answer is lost; 'arrived': orders is killed when its request reaches
    // the proxy, which drops it, so it never takes effect. Every scenario runs one saga; the process
    // restarts after each kill.
    const sku = `e2e-kill-${id}`;
    await call(inventory.url, 'PUT', `/v1/skus/${sku}`, { onHand: 30 });
    const inv = await startFaultProxy(inventory.url);
    const pay = await startFaultProxy(payments.url);
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    // Its own orders schema: the in-process app of the other tests runs a saga runner on theirs, and it
    // would take these sagas past the proxies.
    const k = await setupOrders();
    cleanups.push(() => k.cleanup());
    const sagaEnv = { INVENTORY_URL: inv.url, PAYMENTS_URL: pay.url, ...issuer.ordersEnv, SAGA_POLL_MS: '20', SAGA_RETRY_BASE_MS: '50', SAGA_RETRY_CAP_MS: '500', SAGA_LEASE_MS: '1000', PROJECTOR_ENABLED: 'false' };
    const env = k.env({ env: sagaEnv });
    // The refund scenario needs a saga whose capture took effect and whose deadline then passed.
    const shortDeadline = k.env({ env: { ...sagaEnv, SAGA_DEADLINE_MS: '8000' } });
    let proc = await startService({ name: 'orders', main, env });
    const kills: string[] = [];
    let mode: 'answered' | 'arrived' = 'answered';
    const kill = async (req: ProxiedRequest): Promise<void> => {
      kills.push(`${mode} ${req.method} ${req.path.split('?')[0]}`);
      await proc.kill('SIGKILL');
    };
    /** The rule that kills orders at a matching request: after the service answered it, or as it arrives (dropped). */
    const killAt = (match: FaultRule['match']): FaultRule => (mode === 'answered' ? { match, onAnswered: kill } : { match, onArrived: kill, drop: true });
    const forOrder = (o: string) => (req: ProxiedRequest) => req.body.includes(o) || req.path.includes(o);
    const isPost = (suffixPath: string) => (req: ProxiedRequest) => req.method === 'POST' && req.path.split('?')[0]!.endsWith(suffixPath);
    const sagaOf = async (o: string) => (await k.db.query<{ status: string; state: { reservationId?: string; paymentId?: string } }>('SELECT status, state FROM checkout_sagas WHERE order_id = $1', [o])).rows[0];
    type Outcome = { saga: 'completed' | 'failed'; payment: string | undefined; stockTaken: boolean };
    const expected = new Map<string, Outcome>();
    let taken = 0; // units of the SKU that completed sagas took
    /** After each scenario: its saga ended as it should; money: its payment in the expected state for the full amount; stock: nothing left reserved, only completed orders took any. */
    async function reconcile(o: string, want: Outcome): Promise<void> {
      expected.set(o, want);
      if (want.stockTaken) taken += 2;
      expect((await sagaOf(o))?.status).toBe(want.saga);
      const listed = (await call(payments.url, 'GET', `/v1/payments?orderId=${o}`)).body.payments as { status: string; amount: number }[];
      expect(listed.filter((p) => p.status !== 'declined').map((p) => [p.status, p.amount])).toEqual(want.payment ? [[want.payment, 600]] : []);
      expect((await call(inventory.url, 'GET', `/v1/skus/${sku}`)).body).toMatchObject({ onHand: 30 - taken, reserved: 0 });
    }

    async function scenario(name: string, o: string, arm: () => void, runEnv = env): Promise<void> {
      arm();
      const before = kills.length;
      expect((await call(proc.url, 'POST', `/orders/${o}/checkout`, {}, { 'idempotency-key': randomUUID() })).status).toBe(202);
      await waitFor(() => kills.length === before + 1, `orders killed at ${name}`, 60_000);
      expect(await proc.exited).toBeNull(); // ended by the signal
      proc = await startService({ name: 'orders', main, env: runEnv });
      await waitFor(async () => ['completed', 'failed'].includes((await sagaOf(o))?.status ?? ''), `saga killed at ${name} ended after the restart`, 90_000);
    }

    try {
      for (const pass of ['answered', 'arrived'] as const) {
        mode = pass;
        if (pass === 'arrived') {
          // The refund scenario left orders on its short deadline.
          await proc.stop();
          proc = await startService({ name: 'orders', main, env });
        }
        // Forward steps: the saga completes after the restart ('answered': the step that ran twice was answered from the service's idempotency store).
        for (const [step, match] of [
          ['reserve_stock', isPost('/v1/internal/reservations')],
          ['authorize_payment', isPost('/v1/internal/payments')],
          ['confirm_order', isPost('/confirm')],
          ['capture_payment', isPost('/capture')],
        ] as const) {
          const o = await draftOrder(proc.url, sku, 2, 300);
          const proxy = step === 'reserve_stock' || step === 'confirm_order' ? inv : pay;
          // One saga runs at a time, so the first matching request is this order's.
          await scenario(step, o, () => proxy.arm(killAt(match)));
          await reconcile(o, { saga: 'completed', payment: 'captured', stockTaken: true });
        }

        // void_payment: authorized, then the reservation is released behind the saga's back while the authorize
        // answer is held, so confirm_order is refused (409) and the saga voids the payment; killed at the void.
        {
          const o = await draftOrder(proc.url, sku, 2, 300);
          let letAuthorizeAnswer!: () => void;
          const held = new Promise<void>((resolve) => (letAuthorizeAnswer = resolve));
          pay.arm({ match: (r) => isPost('/v1/internal/payments')(r) && forOrder(o)(r), hold: held });
          pay.arm(killAt(isPost('/void')));
          const before = kills.length;
          expect((await call(proc.url, 'POST', `/orders/${o}/checkout`, {}, { 'idempotency-key': randomUUID() })).status).toBe(202);
          await waitFor(async () => (await sagaOf(o))?.state.reservationId !== undefined && pay.seen.some((r) => isPost('/v1/internal/payments')(r) && forOrder(o)(r)), 'stock reserved and authorize sent', 60_000);
          const reservationId = (await sagaOf(o))!.state.reservationId!;
          expect((await call(inventory.url, 'POST', `/v1/internal/reservations/${reservationId}/release`, {}, { 'idempotency-key': randomUUID(), authorization: await issuer.orders.authorization() })).status).toBe(200);
          letAuthorizeAnswer();
          await waitFor(() => kills.length === before + 1, 'orders killed at void_payment', 60_000);
          proc = await startService({ name: 'orders', main, env });
          await waitFor(async () => (await sagaOf(o))?.status === 'failed', 'saga killed at void_payment failed after the restart', 90_000);
          await reconcile(o, { saga: 'failed', payment: 'voided', stockTaken: false });
        }

        // release_stock: the PSP declines, so the saga releases the stock; killed at the release.
        {
          const o = await draftOrder(proc.url, sku, 2, 300);
          expect((await call(psp.url, 'PUT', '/v1/_simulator', { declineRate: 1 })).status).toBe(200);
          try {
            await scenario('release_stock', o, () => inv.arm(killAt(isPost('/release'))));
          } finally {
            await call(psp.url, 'PUT', '/v1/_simulator', { declineRate: 0 });
          }
          await reconcile(o, { saga: 'failed', payment: undefined, stockTaken: false });
        }

        // refund (void_payment of a captured payment): the capture takes effect but its answers are lost (503)
        // until the saga's deadline passes; the saga then compensates and refunds; killed at the refund.
        {
          await proc.stop();
          proc = await startService({ name: 'orders', main, env: shortDeadline });
          const o = await draftOrder(proc.url, sku, 2, 300);
          const lost = pay.arm({ match: isPost('/capture'), replaceStatus: 503, times: Infinity });
          pay.arm(killAt(isPost('/refund')));
          const before = kills.length;
          expect((await call(proc.url, 'POST', `/orders/${o}/checkout`, {}, { 'idempotency-key': randomUUID() })).status).toBe(202);
          await waitFor(() => kills.length === before + 1, 'orders killed at the refund', 90_000);
          lost();
          proc = await startService({ name: 'orders', main, env: shortDeadline });
          await waitFor(async () => (await sagaOf(o))?.status === 'failed', 'saga killed at the refund failed after the restart', 90_000);
          await reconcile(o, { saga: 'failed', payment: 'refunded', stockTaken: false });
        }
      }
    } finally {
      await proc.stop();
      await inv.close();
      await pay.close();
    }

    expect(kills).toHaveLength(14);
    // Reconciliation once more over all of them (each was reconciled after its own scenario): each saga ended as
    // its scenario says; money: one payment per order in the expected state for the full amount (none for the
    // declined one); stock: only completed orders took any.
    const orders = [...expected.keys()];
    const { rows } = await k.db.query<{ order_id: string; status: string; amount: number }>("SELECT order_id, status, (state->>'amountCents')::int AS amount FROM checkout_sagas WHERE order_id = ANY($1)", [orders]);
    expect(Object.fromEntries(rows.map((r) => [r.order_id, r.status]))).toEqual(Object.fromEntries(orders.map((o) => [o, expected.get(o)!.saga])));
    for (const r of rows) {
      const want = expected.get(r.order_id)!;
      const listed = (await call(payments.url, 'GET', `/v1/payments?orderId=${r.order_id}`)).body.payments as { status: string; amount: number }[];
      const live = listed.filter((p) => p.status !== 'declined');
      expect(live.map((p) => [p.status, p.amount])).toEqual(want.payment ? [[want.payment, r.amount]] : []);
    }
    expect(taken).toBe(orders.filter((o) => expected.get(o)!.stockTaken).length * 2);
    expect((await call(inventory.url, 'GET', `/v1/skus/${sku}`)).body).toMatchObject({ onHand: 30 - taken, reserved: 0 });
    // Each step and compensation took effect once per saga in the log, though seven of them ran twice (once before the kill, 'answered').
    const steps = await k.db.query<{ step: string; n: number }>(
      "SELECT s.step, count(*)::int AS n FROM checkout_saga_steps s JOIN checkout_sagas c ON c.saga_id = s.saga_id WHERE c.order_id = ANY($1) AND s.outcome = 'ok' GROUP BY s.step ORDER BY s.step",
      [orders],
    );
    expect(Object.fromEntries(steps.rows.map((r) => [r.step, r.n]))).toEqual({
      reserve_stock: 2 * 7,
      authorize_payment: 2 * 6,
      confirm_order: 2 * 5, // the refund scenario's order was confirmed before its capture answers were lost
      capture_payment: 2 * 4,
      void_payment: 2 * 2,
      release_stock: 2 * 3,
      mark_failed: 2 * 3,
    });
  }, 600_000);

  it('when the PSP declines, then the order fails, its stock is released and no money is taken', async () => {
    const sku = `e2e-decline-${id}`;
    await call(inventory.url, 'PUT', `/v1/skus/${sku}`, { onHand: 4 });
    expect((await call(psp.url, 'PUT', '/v1/_simulator', { declineRate: 1 })).status).toBe(200);
    try {
      const o = await draftOrder(url, sku, 3, 500);
      await call(url, 'POST', `/orders/${o}/checkout`, {}, { 'idempotency-key': randomUUID() });
      await waitFor(async () => ['failed', 'completed'].includes((await call(url, 'GET', `/orders/${o}/checkout`)).body.status), 'saga finished', 60_000);
      expect((await call(url, 'GET', `/orders/${o}/checkout`)).body).toMatchObject({ status: 'failed', failure: { step: 'authorize_payment', reason: 'payment-declined' } });
      expect((await call(inventory.url, 'GET', `/v1/skus/${sku}`)).body).toMatchObject({ onHand: 4, reserved: 0, available: 4 });
      const listed = (await call(payments.url, 'GET', `/v1/payments?orderId=${o}`)).body.payments as { status: string }[];
      expect(listed.every((p) => p.status !== 'authorized' && p.status !== 'captured')).toBe(true);
    } finally {
      await call(psp.url, 'PUT', '/v1/_simulator', { declineRate: 0 });
    }
  }, 120_000);

  it('when the PSP delivers every webhook twice and out of order and forged or stale webhooks arrive, then each order is charged once, none is confirmed without payment, and money reconciles', async () => {
    const sku = `e2e-webhooks-${id}`;
    await call(inventory.url, 'PUT', `/v1/skus/${sku}`, { onHand: 10 });
    expect((await call(psp.url, 'PUT', '/v1/_simulator', { duplicateWebhookRate: 1, outOfOrderRate: 1 })).status).toBe(200);
    // Earlier tests' webhooks (a decline's, say) may still be on their way or held back (the PSP counts
    // held-back ones as in flight): let them land before counting.
    await waitFor(async () => ((await call(psp.url, 'GET', '/v1/_simulator')).body as PspState).webhooks.inFlight === 0, 'earlier PSP webhooks delivered', 60_000);
    const before = (await call(psp.url, 'GET', '/v1/_simulator')).body as PspState;
    const ids: string[] = [];
    try {
      for (let i = 0; i < 6; i++) ids.push(await draftOrder(url, sku, 1, 700 + i));
      await Promise.all(ids.map((o) => call(url, 'POST', `/orders/${o}/checkout`, {}, { 'idempotency-key': randomUUID() })));
      // While the sagas run: a void for the first order's payment, signed with a forged secret, then with the
      // real secret but a timestamp an hour old (a replay). Both are refused and change nothing.
      await waitFor(async () => ((await call(payments.url, 'GET', `/v1/payments?orderId=${ids[0]}`)).body.payments as unknown[]).length > 0, 'first payment recorded', 60_000);
      const payment = ((await call(payments.url, 'GET', `/v1/payments?orderId=${ids[0]}`)).body.payments as { id: string; pspIntentId: string }[])[0]!;
      const intent = (await call(psp.url, 'GET', `/v1/payment_intents/${payment.pspIntentId}`)).body as Record<string, unknown>;
      const transition = { kind: 'voided', amount: 0, version: Number(intent.version) + 1 };
      const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'payment_intent.voided', created: Math.floor(Date.now() / 1000), data: { object: { ...intent, status: 'voided', version: transition.version, lastTransition: transition }, transition } });
      const now = Math.floor(Date.now() / 1000);
      for (const [signature, reason] of [
        [signatureHeader(body, ['whsec_forged_0000000000000000']), 'mismatch'],
        [signatureHeader(body, [webhookSecret], now - 3_600), 'stale'],
      ] as const) {
        const res = await fetch(`${payments.url}/v1/psp/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature }, body });
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ reason });
      }
      await waitFor(async () => (await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM checkout_sagas WHERE order_id = ANY($1) AND status = 'completed'", [ids])).rows[0]!.n === ids.length, 'the six sagas completed', 120_000);
      // Let the held-back (out-of-order) and duplicated deliveries land before reading the books.
      await waitFor(async () => ((await call(psp.url, 'GET', '/v1/_simulator')).body as PspState).webhooks.inFlight === 0, 'PSP webhooks delivered', 60_000);
    } finally {
      await call(psp.url, 'PUT', '/v1/_simulator', { duplicateWebhookRate: 0, outOfOrderRate: 0 });
    }
    const after = (await call(psp.url, 'GET', '/v1/_simulator')).body as PspState;
    expect(after.webhooks.gaveUp).toBe(before.webhooks.gaveUp);
    // Every order: one payment, captured for exactly its total, in the same state and version as at the PSP.
    for (const [i, o] of ids.entries()) {
      const listed = (await call(payments.url, 'GET', `/v1/payments?orderId=${o}`)).body.payments as { status: string; amount: number; pspIntentId: string; pspVersion: number; amountCaptured: number }[];
      expect(listed.map((p) => [p.status, p.amount, p.amountCaptured])).toEqual([['captured', 700 + i, 700 + i]]);
      const theirs = (await call(psp.url, 'GET', `/v1/payment_intents/${listed[0]!.pspIntentId}`)).body as { status: string; version: number };
      expect({ status: listed[0]!.status, version: listed[0]!.pspVersion }).toEqual({ status: theirs.status, version: theirs.version });
    }
    // Each PSP transition recorded once though delivered twice; the ledger balances.
    const db = createPool({ connectionString: pgUrl(), name: `orders_e2e_books_${id}`, max: 1, registry: new Registry(), log: silent });
    try {
      const events = await db.query<{ n: number; distinct: number }>(`SELECT count(*)::int AS n, count(DISTINCT (payment_id, psp_version))::int AS distinct FROM "${schemas.payments}".psp_webhook_events`);
      expect(events.rows[0]!.n).toBe(events.rows[0]!.distinct);
      // …and the PSP really did send each of this test's events twice (the knobs took effect).
      const mine = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schemas.payments}".psp_webhook_events e JOIN "${schemas.payments}".payments p ON p.id = e.payment_id WHERE p.order_id = ANY($1)`,
        [ids],
      );
      expect(mine.rows[0]!.n).toBeGreaterThanOrEqual(2 * ids.length); // authorized + captured at least
      expect(after.webhooks.delivered - before.webhooks.delivered).toBe(2 * mine.rows[0]!.n);
      const books = await db.query<{ ledger: number; receivable: number; held: number }>(
        `SELECT (SELECT coalesce(sum(amount), 0)::float8 FROM "${schemas.payments}".ledger_entries) AS ledger,
                (SELECT coalesce(sum(amount), 0)::float8 FROM "${schemas.payments}".ledger_entries WHERE account = 'psp_receivable') AS receivable,
                (SELECT coalesce(sum(amount_captured - amount_refunded), 0)::float8 FROM "${schemas.payments}".payments) AS held`,
      );
      expect(books.rows[0]!.ledger).toBe(0);
      expect(books.rows[0]!.receivable).toBe(books.rows[0]!.held);
    } finally {
      await db.close();
    }
    expect((await call(inventory.url, 'GET', `/v1/skus/${sku}`)).body).toMatchObject({ onHand: 4, reserved: 0 });
  }, 240_000);
});
