import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Queryable } from '@bulwark/db';
import { createOrderRepository } from '../src/store/order-repository.ts';
import type { OrderEvent } from '../src/domain/events.ts';
import { createProjector, lockKey } from '../src/projections/projector.ts';
import { orderStatusCounts } from '../src/projections/order-status-counts.ts';
import { orderSummaries } from '../src/projections/order-summaries.ts';
import type { Projection } from '../src/projections/projection.ts';
import { appendToStream } from '../src/store/event-store.ts';
import { scrapeValue } from '@bulwark/test-support';
import { ADDRESS, call, setupOrders, silent, waitFor, type TestOrders } from './support.ts';

/** Records every event it is given, in the order given, into its own table. */
const recorder: Projection = {
  name: 'test-recorder',
  tables: ['recorded'],
  async apply(db: Queryable, events, tables) {
    await db.query({
      text: `INSERT INTO "${tables.recorded}" (event_id, tx, id) SELECT * FROM unnest($1::uuid[], $2::xid8[], $3::bigint[])`,
      values: [events.map((e) => e.eventId), events.map((e) => e.position.transactionId), events.map((e) => e.position.id)],
    });
  },
};

/** The read models a rebuild replaces (a rebuild fills `<table>_rebuild` for each of their tables before the swap). */
const PROJECTIONS = [orderSummaries, orderStatusCounts];

describe('projections', () => {
  let t: TestOrders;
  beforeEach(async () => {
    t = await setupOrders();
  });
  afterEach(() => t.cleanup());

  it('when eight writers append concurrently and some commit late, then the projection sees every event exactly once, in global order, with no gaps', async () => {
    await t.build().prepare();
    await t.db.query('CREATE TABLE recorded (seq bigint GENERATED ALWAYS AS IDENTITY, event_id uuid NOT NULL, tx xid8 NOT NULL, id bigint NOT NULL)');
    await t.db.query("INSERT INTO projection_checkpoints (projection) VALUES ('test-recorder')");
    const projector = createProjector({ pool: t.db, projection: recorder, log: silent, batchSize: 7, pollIntervalMs: 5 });
    projector.start();
    // Late commits are made, not timed: a late writer holds its transaction (its id already taken) open until
    // another writer has committed, unless every writer still running is itself waiting late.
    let committed = 0;
    let running = 8;
    let waitingLate = 0;
    let overtaken = 0; // late transactions that another writer's commit overtook
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; i < 25; i++) {
        const client = await t.db.connect();
        try {
          await client.query('BEGIN');
          await client.query('SELECT pg_current_xact_id()');
          await appendToStream(client, `w${w}-s${i}`, 'order', 0, [{ type: 'OrderCreated', data: { customerId: `c${w}` } }, { type: 'ItemAdded', data: { sku: 'x', quantity: 1, unitPriceCents: 1 } }]);
          if (i % 5 === w % 5) {
            const before = committed;
            waitingLate++;
            await waitFor(() => committed > before || waitingLate === running, 'another writer commits while this one holds its transaction', 30_000, 2);
            waitingLate--;
            if (committed > before) overtaken++;
          }
          await client.query('COMMIT');
          committed++;
        } finally {
          client.release();
        }
      }
      running--;
    };
    try {
      await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
      expect(overtaken).toBeGreaterThan(0);
      await waitFor(async () => Number((await t.db.query<{ n: string }>('SELECT count(*)::text n FROM recorded')).rows[0]!.n) >= 400, 'all 400 events projected').catch(async (err: Error) => {
        // The horizon is cluster-wide: name what holds it (a transaction anywhere on the server, e.g. one left open by an earlier test).
        const holders = await t.db.query("SELECT pid, datname, application_name, state, backend_xid::text, now() - xact_start AS age, left(query, 120) AS query FROM pg_stat_activity WHERE backend_xid IS NOT NULL OR backend_xmin IS NOT NULL ORDER BY xact_start");
        const prepared = await t.db.query('SELECT gid, database, prepared FROM pg_prepared_xacts');
        throw new Error(`${err.message}; transactions open on the server: ${JSON.stringify(holders.rows)}; prepared: ${JSON.stringify(prepared.rows)}`);
      });
    } finally {
      await projector.stop();
    }
    const recorded = (await t.db.query<{ event_id: string }>('SELECT event_id FROM recorded ORDER BY seq')).rows.map((r) => r.event_id);
    const all = (await t.db.query<{ event_id: string }>('SELECT event_id FROM events ORDER BY transaction_id, id')).rows.map((r) => r.event_id);
    expect(all).toHaveLength(400);
    expect(recorded).toEqual(all);
  });

  it('when a projection is rebuilt under write load, then the swapped-in read model equals the event store', async () => {
    const { app, url } = await t.start();
    const orders = createOrderRepository(t.db, { snapshotEvery: 0, log: silent });
    let stop = false;
    let saved = 0; // orders whose second save committed
    const ids: string[] = [];
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop || i < 3; i++) {
        const id = `r${w}-${i}`;
        ids.push(id);
        const created = await orders.save(id, { state: undefined, version: 0 }, [{ type: 'OrderCreated', data: { customerId: `c${w}` } }]);
        const events: OrderEvent[] = [{ type: 'ItemAdded', data: { sku: 'a', quantity: i + 1, unitPriceCents: 100 } }, { type: 'AddressSet', data: { address: ADDRESS } }];
        if (i % 3 === 0) events.push({ type: 'OrderPlaced', data: { totalCents: (i + 1) * 100 } });
        if (i % 4 === 0) events.push({ type: 'OrderCancelled', data: { reason: 'test' } });
        await orders.save(id, { state: created.state, version: created.version }, events);
        saved++;
      }
    };
    const writers = Promise.all(Array.from({ length: 4 }, (_, w) => writer(w)));
    await waitFor(() => saved >= 40, 'the writers have written 40 orders');
    // The overlap is made, not hoped for: a session holds both projections' locks, so each rebuild replays
    // the log into its shadow tables and then waits for the lock at its swap. Once both wait there, the
    // writers commit a dozen more orders: only the rebuilds' tail (replayed under the lock) can pick them up.
    const holder = await t.db.connect();
    let rebuilding: Promise<Awaited<ReturnType<typeof call>>[]>;
    let answered = false;
    try {
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      for (const p of PROJECTIONS) await holder.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey(p.name)]);
      rebuilding = Promise.all(PROJECTIONS.map((p) => call(url, 'POST', `/projections/${p.name}/rebuild`, {}))).finally(() => (answered = true));
      const shadows = PROJECTIONS.flatMap((p) => p.tables.map((table) => `${table}_rebuild`));
      const shadowsExist = async () => (await t.db.query<{ n: number }>('SELECT count(to_regclass(quote_ident(s)))::int AS n FROM unnest($1::text[]) s', [shadows])).rows[0]!.n === shadows.length;
      // The rebuilds run on the owner's pool; the live projector (runtime pool) may wait on the same locks.
      const atSwap = async () => (await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'orders-owner' AND $1::int = ANY(pg_blocking_pids(pid))", [holderPid])).rows[0]!.n;
      await waitFor(async () => (await atSwap()) === PROJECTIONS.length && (await shadowsExist()), 'both rebuilds replayed the log and wait at their swap');
      const savedAtSwap = saved;
      await waitFor(() => saved >= savedAtSwap + 12, 'a dozen orders written while the rebuilds wait at their swap');
      expect(answered).toBe(false);
      expect(await atSwap()).toBe(PROJECTIONS.length);
    } finally {
      for (const p of PROJECTIONS) await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey(p.name)]);
      holder.release();
    }
    const rebuilt = await rebuilding!;
    for (const r of rebuilt) expect(r.status).toBe(200);
    stop = true;
    await writers;
    await waitFor(async () => (await call(url, 'GET', '/projections')).body.projections.every((p: { lagEvents: number }) => p.lagEvents === 0), 'projections caught up');
    const expected = await Promise.all(ids.map(async (id) => ({ id, loaded: await orders.load(id) })));
    const rows = (await t.db.query<{ order_id: string; status: string; total_cents: string; version: number }>('SELECT order_id, status, total_cents::text, version FROM order_summaries')).rows;
    expect(rows).toHaveLength(ids.length);
    const byId = new Map(rows.map((r) => [r.order_id, r]));
    for (const { id, loaded } of expected) {
      expect(byId.get(id)).toEqual({ order_id: id, status: loaded.state!.status, total_cents: String(loaded.state!.totalCents), version: loaded.version });
    }
    const counts = (await call(url, 'GET', '/order-stats/status-counts')).body.counts as Record<string, number>;
    const want: Record<string, number> = {};
    for (const { loaded } of expected) want[loaded.state!.status] = (want[loaded.state!.status] ?? 0) + 1;
    expect(Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0))).toEqual(want);
    expect((await call(url, 'POST', '/projections/nope/rebuild', {})).body.code).toBe('ORDERS_UNKNOWN_PROJECTION');
    expect(app.workers.projectors.every((p) => p.running)).toBe(true);
  });

  /** Writes an event straight into the log, bypassing the domain (what a bug or a hand edit could leave there). */
  const poison = async (streamId: string, version: number, type: string, data: unknown): Promise<string> =>
    (await t.db.query<{ event_id: string }>('INSERT INTO events (event_id, stream_id, version, type, data) VALUES (gen_random_uuid(), $1, $2, $3, $4) RETURNING event_id::text', [streamId, version, type, JSON.stringify(data)])).rows[0]!.event_id;

  const metric = (url: string, name: string, projection: string): Promise<number> => scrapeValue(url, name, `projection="${projection}"`);

  it('when the log holds events a projection cannot apply, then each is parked and counted, later events still project, and a rebuild reports them instead of failing', async () => {
    const { url } = await t.start();
    const created = await call(url, 'POST', '/orders', { customerId: 'c-poison' });
    const id = created.body.order.orderId as string;
    const ghost = await poison('ghost-1', 1, 'OrderCancelled', { reason: 'cancel of an order that never existed' });
    const overflow = await poison(id, 2, 'ItemAdded', { sku: 'A', quantity: 1000, unitPriceCents: Number.MAX_SAFE_INTEGER });
    const again = await poison(id, 3, 'ItemAdded', { sku: 'A', quantity: 1000, unitPriceCents: Number.MAX_SAFE_INTEGER });
    const garbled = await poison('garbled-1', 1, 'OrderCreated', { customer: 42 });
    const after = (await call(url, 'POST', '/orders', { customerId: 'c-after' })).body.order.orderId as string;
    await waitFor(async () => (await call(url, 'GET', `/orders/${after}`)).status === 200, 'an order created after the poison is projected');
    await waitFor(async () => (await call(url, 'GET', '/projections')).body.projections.every((p: { lagEvents: number }) => p.lagEvents === 0), 'projections caught up');
    expect((await call(url, 'GET', `/orders/${id}`)).body).toMatchObject({ version: 1, totalCents: 0 });
    expect((await call(url, 'GET', '/orders/ghost-1')).status).toBe(404);

    const parked = await call(url, 'GET', '/projections/order-summaries/parked');
    expect(parked.status).toBe(200);
    const byId = new Map((parked.body.events as { eventId: string; streamId: string; version: number; type: string; error: string; errorCode: string | null }[]).map((e) => [e.eventId, e]));
    expect([...byId.keys()].sort()).toEqual([ghost, overflow, again, garbled].sort());
    expect(byId.get(ghost)).toMatchObject({ streamId: 'ghost-1', version: 1, type: 'OrderCancelled', errorCode: 'ORDERS_NOT_FOUND' });
    expect(byId.get(overflow)).toMatchObject({ streamId: id, version: 2, type: 'ItemAdded' });
    expect(byId.get(overflow)!.error).toMatch(/safe|total/i);
    expect(await metric(url, 'orders_projection_parked_events_total', 'order-summaries')).toBe(4);
    // The counts projection cannot count an order it never saw created, nor a malformed creation (items do not concern it).
    const counted = await call(url, 'GET', '/projections/order-status-counts/parked');
    expect((counted.body.events as { eventId: string }[]).map((e) => e.eventId)).toEqual([ghost, garbled]);
    expect(await metric(url, 'orders_projection_parked_events_total', 'order-status-counts')).toBe(2);
    expect((await call(url, 'GET', '/order-stats/status-counts')).body.counts).toEqual({ draft: 2 });
    const status = (await call(url, 'GET', '/projections')).body.projections as { name: string; parked: number }[];
    expect(status.map((p) => [p.name, p.parked])).toEqual([['order-summaries', 4], ['order-status-counts', 2]]);

    const rebuilt = await call(url, 'POST', '/projections/order-summaries/rebuild', {});
    expect(rebuilt.status).toBe(200);
    expect(rebuilt.body).toMatchObject({ projection: 'order-summaries', events: 6, parked: 4 });
    expect((rebuilt.body.parkedEvents as { eventId: string }[]).map((e) => e.eventId).sort()).toEqual([ghost, overflow, again, garbled].sort());
    expect((await call(url, 'GET', `/orders/${after}`)).status).toBe(200);
    expect((await call(url, 'POST', '/projections/order-status-counts/rebuild', {})).body).toMatchObject({ events: 6, parked: 2 });
    expect((await call(url, 'GET', '/order-stats/status-counts')).body.counts).toEqual({ draft: 2 });
    // Met again by the rebuilds, not parked anew: the counters stay.
    expect(await metric(url, 'orders_projection_parked_events_total', 'order-summaries')).toBe(4);
  });

  it('when a projection is held back past PROJECTOR_MAX_LAG_EVENTS or keeps failing past PROJECTOR_STUCK_AFTER_MS, then /readyz says not ready, names it, and recovers when it moves again', async () => {
    const { url } = await t.start({ env: { PROJECTOR_MAX_LAG_EVENTS: '5', PROJECTOR_STUCK_AFTER_MS: '300' } });
    expect((await call(url, 'GET', '/readyz')).status).toBe(200);
    // Lagging: another session holds the projection's lock (a stuck replica or rebuild), commands keep going.
    const holder = await t.db.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(hashtext($1))', ['orders.projection:order-summaries']);
      for (let i = 0; i < 8; i++) expect((await call(url, 'POST', '/orders', { customerId: 'c-lag' })).status).toBe(201);
      const lagging = await call(url, 'GET', '/readyz');
      expect(lagging.status).toBe(503);
      expect(lagging.body.failing).toEqual([{ name: 'projections', reason: 'failed' }]);
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', ['orders.projection:order-summaries']);
    } finally {
      holder.release();
    }
    await waitFor(async () => (await call(url, 'GET', '/readyz')).status === 200, 'ready once the projection caught up');
    // Stuck: every batch fails on something that is not the event's fault (the table is gone): retried, never parked.
    await t.db.query('ALTER TABLE order_summaries RENAME TO order_summaries_away');
    const id = (await call(url, 'POST', '/orders', { customerId: 'c-stuck' })).body.order.orderId as string;
    await waitFor(async () => (await call(url, 'GET', '/readyz')).status === 503, 'not ready while the projection keeps failing');
    await t.db.query('ALTER TABLE order_summaries_away RENAME TO order_summaries');
    await waitFor(async () => (await call(url, 'GET', `/orders/${id}`)).status === 200, 'the order is projected once the table is back');
    await waitFor(async () => (await call(url, 'GET', '/readyz')).status === 200, 'ready again');
    expect((await call(url, 'GET', '/projections/order-summaries/parked')).body.events).toEqual([]);
  });
});
