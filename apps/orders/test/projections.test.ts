import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Queryable } from '@bulwark/db';
import { createOrderRepository } from '../src/domain/order-repository.ts';
import type { OrderEvent } from '../src/domain/events.ts';
import { createProjector } from '../src/projections/projector.ts';
import type { Projection } from '../src/projections/projection.ts';
import { appendToStream } from '../src/store/event-store.ts';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; i < 25; i++) {
        const client = await t.db.connect();
        try {
          await client.query('BEGIN');
          await client.query('SELECT pg_current_xact_id()');
          await appendToStream(client, `w${w}-s${i}`, 'order', 0, [{ type: 'OrderCreated', data: { customerId: `c${w}` } }, { type: 'ItemAdded', data: { sku: 'x', quantity: 1, unitPriceCents: 1 } }]);
          if (i % 5 === w % 5) await sleep(15); // commit late while others commit
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    await waitFor(async () => Number((await t.db.query<{ n: string }>('SELECT count(*)::text n FROM recorded')).rows[0]!.n) >= 400, 'all 400 events projected');
    await projector.stop();
    const recorded = (await t.db.query<{ event_id: string }>('SELECT event_id FROM recorded ORDER BY seq')).rows.map((r) => r.event_id);
    const all = (await t.db.query<{ event_id: string }>('SELECT event_id FROM events ORDER BY transaction_id, id')).rows.map((r) => r.event_id);
    expect(all).toHaveLength(400);
    expect(recorded).toEqual(all);
  });

  it('when a projection is rebuilt under write load, then the swapped-in read model equals the event store', async () => {
    const { app, url } = await t.start();
    const orders = createOrderRepository(t.db, { snapshotEvery: 0, log: silent });
    let stop = false;
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
      }
    };
    const writers = Promise.all(Array.from({ length: 4 }, (_, w) => writer(w)));
    await sleep(100);
    const rebuilt = await Promise.all([call(url, 'POST', '/projections/order-summaries/rebuild', {}), call(url, 'POST', '/projections/order-status-counts/rebuild', {})]);
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
});
