/**
 * createTransactionOnly, the switched-off baseline the checkout benchmark
 * compares against: the same request transaction, no key store.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { startWidgetApp, type WidgetApp } from './fixtures/widget-app.ts';
import { send, setupDb, type TestDb } from './support.ts';

let db: TestDb;
let a: WidgetApp;
beforeEach(async () => {
  db = await setupDb();
  a = await startWidgetApp(db.pool, db.schema, { scope: db.scope, transactionOnly: true });
  db.defer(() => a.close());
});
afterEach(async () => {
  await db.cleanup();
});

const keyCount = async () => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${db.schema}".idempotency_keys`)).rows[0]!.n;

describe('transaction without idempotency keys (benchmark baseline)', () => {
  it('when the handler succeeds, then its write is committed before the answer and no key is stored', async () => {
    const r = await send(a.url, 'POST', '/widgets', { name: 'a' }, { 'idempotency-key': randomUUID() });
    expect(r.status).toBe(201);
    expect((await db.widgets()).map((w) => w.name)).toEqual(['a']);
    expect(await keyCount()).toBe(0);
  });

  it('when the handler answers 4xx, then its write is rolled back, unless it keeps its writes', async () => {
    expect((await send(a.url, 'POST', '/widgets', { name: 'dropped', fail: 409 })).status).toBe(409);
    expect((await send(a.url, 'POST', '/widgets', { name: 'kept', fail: 422, keep: true })).status).toBe(422);
    expect((await db.widgets()).map((w) => w.name)).toEqual(['kept']);
  });

  it('when the handler throws, then nothing is committed and the client gets a 5xx', async () => {
    const r = await send(a.url, 'POST', '/boom', {});
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(await db.widgets()).toHaveLength(0);
  });

  it('when the same key is sent twice, then the handler runs twice: this is why it is a baseline, never a deployment mode', async () => {
    const h = { 'idempotency-key': randomUUID() };
    expect((await send(a.url, 'POST', '/widgets', { name: 'x' }, h)).status).toBe(201);
    const again = await send(a.url, 'POST', '/widgets', { name: 'x' }, h);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(await db.widgets()).toHaveLength(2);
  });
});
