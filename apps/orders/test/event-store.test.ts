import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { isAppError } from '@bulwark/errors';
import { appendToStream, loadStream, readStream, type NewEvent } from '../src/store/event-store.ts';
import { comparePositions, readGlobalLog, START } from '../src/store/global-log.ts';
import { setupOrders, type TestOrders } from './support.ts';

const ev = (n: number): NewEvent => ({ type: 'ItemAdded', data: { sku: `sku-${n}`, quantity: 1, unitPriceCents: 100 } });

describe('event store', () => {
  let t: TestOrders;
  beforeEach(async () => {
    t = await setupOrders();
    await t.build().prepare();
  });
  afterEach(() => t.cleanup());

  it('when twenty writers append to one stream at the same expected version, then exactly one wins per version and the others get ORDERS_VERSION_CONFLICT', async () => {
    await appendToStream(t.db, 's-1', 'order', 0, [{ type: 'OrderCreated', data: { customerId: 'c' } }]);
    for (const version of [1, 2, 3]) {
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => appendToStream(t.db, 's-1', 'order', version, [ev(version * 100 + i)])));
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(19);
      for (const r of lost) expect(isAppError(r.reason) && r.reason.code === 'ORDERS_VERSION_CONFLICT' && r.reason.status === 409).toBe(true);
    }
    expect((await readStream(t.db, 's-1')).map((e) => e.version)).toEqual([1, 2, 3, 4]);
  });

  it('when a stream does not exist, then appending at a version above 0 conflicts, and creating it twice conflicts', async () => {
    await expect(appendToStream(t.db, 'ghost', 'order', 3, [ev(1)])).rejects.toMatchObject({ code: 'ORDERS_VERSION_CONFLICT' });
    await appendToStream(t.db, 'twice', 'order', 0, [ev(1)]);
    await expect(appendToStream(t.db, 'twice', 'order', 0, [ev(2)])).rejects.toMatchObject({ code: 'ORDERS_VERSION_CONFLICT', extensions: { actualVersion: 1 } });
    expect(await readStream(t.db, 'ghost')).toEqual([]);
  });

  it('when a writer is behind or ahead of the head, with one event or several, then it conflicts, says the actual version, and writes nothing', async () => {
    await appendToStream(t.db, 'head', 'order', 0, [ev(1), ev(2)]);
    await appendToStream(t.db, 'head', 'order', 2, [ev(3), ev(4)]); // several events past v0
    await appendToStream(t.db, 'head', 'order', 4, [ev(5)]);
    for (const [expected, events] of [[3, [ev(9)]], [7, [ev(9)]], [2, [ev(9), ev(10)]], [6, [ev(9), ev(10)]]] as const) {
      await expect(appendToStream(t.db, 'head', 'order', expected, events)).rejects.toMatchObject({ code: 'ORDERS_VERSION_CONFLICT', extensions: { actualVersion: 5 } });
    }
    expect((await readStream(t.db, 'head')).map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
  });

  it('when a batch of 100 events is appended, then it lands in one statement with consecutive versions, in global order', async () => {
    const result = await appendToStream(t.db, 'batch', 'order', 0, Array.from({ length: 100 }, (_, i) => ev(i)));
    expect(result.version).toBe(100);
    const { events } = await loadStream(t.db, 'batch', 1);
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const log = await readGlobalLog(t.db, START, 1000);
    expect(log.map((e) => e.eventId)).toEqual(result.eventIds);
    expect(new Set(log.map((e) => e.position.transactionId)).size).toBe(1);
  });

  it('when a transaction that started first commits late, then the global log stops before it and later returns its events before the newer ones (no gaps)', async () => {
    const late = await t.db.connect();
    try {
      await late.query('BEGIN');
      await late.query('SELECT pg_current_xact_id()'); // takes its transaction id first
      await appendToStream(late, 'late', 'order', 0, [ev(1)]);
      await appendToStream(t.db, 'early', 'order', 0, [ev(2)]); // committed, but after the open transaction's xid
      expect(await readGlobalLog(t.db, START, 100)).toEqual([]);
      await late.query('COMMIT');
    } finally {
      late.release();
    }
    const log = await readGlobalLog(t.db, START, 100);
    expect(log.map((e) => e.streamId)).toEqual(['late', 'early']);
    expect(comparePositions(log[0]!.position, log[1]!.position)).toBe(-1);
  });
});
