import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { startWidgetApp, type WidgetApp } from './fixtures/widget-app.ts';
import { send, setupDb, type TestDb } from './support.ts';

let db: TestDb;
beforeEach(async () => {
  db = await setupDb();
});
afterEach(async () => {
  await db.cleanup();
});

async function app(options: Parameters<typeof startWidgetApp>[2] = { scope: '' }): Promise<WidgetApp> {
  const a = await startWidgetApp(db.pool, db.schema, { ...options, scope: options.scope || db.scope });
  db.defer(() => a.close());
  return a;
}

const key = () => ({ 'idempotency-key': randomUUID() });

describe('first request and replay', () => {
  it('when a request is retried with the same key and body, then the stored response is replayed and the handler ran once', async () => {
    const a = await app();
    const h = key();
    const first = await send(a.url, 'POST', '/widgets', { name: 'a', size: 1 }, h);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await send(a.url, 'POST', '/widgets', { size: 1, name: 'a' }, h); // same JSON, other key order
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(again.text).toBe(first.text);
    expect(await db.widgets()).toHaveLength(1);
    expect(a.executions.get(h['idempotency-key'])).toBe(1);
    expect(await db.keyRow(h['idempotency-key'])).toMatchObject({ state: 'completed', attempts: 1, response_status: 201 });
  });

  it('when the key is sent as an sf-string ("quoted"), then it is the same key as unquoted', async () => {
    const a = await app();
    const k = randomUUID();
    await send(a.url, 'POST', '/widgets', { name: 'q' }, { 'idempotency-key': `"${k}"` });
    const again = await send(a.url, 'POST', '/widgets', { name: 'q' }, { 'idempotency-key': k });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await db.widgets()).toHaveLength(1);
  });

  it('when two scopes use the same key, then they do not see each other', async () => {
    const a = await app();
    const b = await app({ scope: `${db.scope}-other` });
    const h = key();
    expect((await send(a.url, 'POST', '/widgets', { name: 'a' }, h)).status).toBe(201);
    const other = await send(b.url, 'POST', '/widgets', { name: 'a' }, h);
    expect(other.status).toBe(201);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    expect(await db.widgets()).toHaveLength(2);
  });

  it("when two tenants send the same key, then each gets its own execution and neither is replayed the other's response", async () => {
    const a = await app();
    const h = key();
    const asA = { ...h, 'x-auth-tenant': 'tenant-a' };
    const asB = { ...h, 'x-auth-tenant': 'tenant-b' };
    const first = await send(a.url, 'POST', '/widgets', { name: 'a' }, asA);
    expect(first.status).toBe(201);
    // Another body under the same key: for the same tenant a reuse (422), for another tenant a new request.
    const other = await send(a.url, 'POST', '/widgets', { name: 'b' }, asB);
    expect(other.status).toBe(201);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    expect(other.body.id).not.toBe(first.body.id);
    expect((await send(a.url, 'POST', '/widgets', { name: 'b' }, asA)).status).toBe(422);
    const againB = await send(a.url, 'POST', '/widgets', { name: 'b' }, asB);
    expect(againB.headers.get('idempotent-replayed')).toBe('true');
    expect(againB.text).toBe(other.text);
    const againA = await send(a.url, 'POST', '/widgets', { name: 'a' }, asA);
    expect(againA.text).toBe(first.text);
    // Without a tenant the key is a third one.
    expect((await send(a.url, 'POST', '/widgets', { name: 'c' }, h)).headers.get('idempotent-replayed')).toBeNull();
    expect((await db.widgets()).map((w) => w.name)).toEqual(['a', 'b', 'c']);
    const { rows } = await db.pool.query<{ tenant_id: string; state: string }>(`SELECT tenant_id, state FROM "${db.schema}".idempotency_keys WHERE key = $1 ORDER BY tenant_id`, [h['idempotency-key']]);
    expect(rows).toEqual([
      { tenant_id: '', state: 'completed' },
      { tenant_id: 'tenant-a', state: 'completed' },
      { tenant_id: 'tenant-b', state: 'completed' },
    ]);
  });

  it('when the method is safe, then the middleware stays out of the way', async () => {
    const a = await app();
    const r = await send(a.url, 'GET', '/widgets');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true, locals: false });
  });
});

describe('bad keys and reuse', () => {
  it('when the key is missing and required, then 400 problem+json and nothing is recorded', async () => {
    const a = await app();
    const r = await send(a.url, 'POST', '/widgets', { name: 'a' });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_MISSING', type: 'https://bulwark.dev/problems/idempotency-key-missing', status: 400 });
    expect(await db.widgets()).toHaveLength(0);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM "${db.schema}".idempotency_keys`)).rows[0]).toEqual({ n: 0 });
  });

  it('when the key is missing and not required, then the request runs unprotected', async () => {
    const a = await app({ scope: '', required: false });
    expect((await send(a.url, 'POST', '/widgets', { name: 'a' })).status).toBe(201);
    expect((await send(a.url, 'POST', '/widgets', { name: 'a' })).status).toBe(201);
    expect(await db.widgets()).toHaveLength(2);
  });

  it('when the key is too long or has control characters, then 400 IDEMPOTENCY_KEY_INVALID', async () => {
    const a = await app();
    const r = await send(a.url, 'POST', '/widgets', { name: 'a' }, { 'idempotency-key': 'x'.repeat(256) });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('IDEMPOTENCY_KEY_INVALID');
    expect(await db.widgets()).toHaveLength(0);
  });

  it('when the same key comes with a different body, then 422 and the first response stays', async () => {
    const a = await app();
    const h = key();
    await send(a.url, 'POST', '/widgets', { name: 'a' }, h);
    const other = await send(a.url, 'POST', '/widgets', { name: 'b' }, h);
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
    expect(await db.widgets()).toEqual([{ name: 'a', attempt: 1 }]);
    expect((await send(a.url, 'POST', '/widgets', { name: 'a' }, h)).headers.get('idempotent-replayed')).toBe('true');
  });

  it('when the same key comes on another path or method, then 422', async () => {
    const a = await app();
    const h = key();
    await send(a.url, 'PUT', '/widgets/a', undefined, h);
    expect((await send(a.url, 'PUT', '/widgets/b', undefined, h)).status).toBe(422);
  });
});

describe('failures', () => {
  it('when the handler answers 4xx, then its writes roll back and the failure is replayed (failed_final)', async () => {
    const a = await app();
    const h = key();
    const first = await send(a.url, 'POST', '/widgets', { name: 'a', fail: 409 }, h);
    expect(first.status).toBe(409);
    const again = await send(a.url, 'POST', '/widgets', { name: 'a', fail: 409 }, h);
    expect(again.status).toBe(409);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(await db.widgets()).toHaveLength(0);
    expect(a.executions.get(h['idempotency-key'])).toBe(1);
    expect(await db.keyRow(h['idempotency-key'])).toMatchObject({ state: 'failed_final', response_status: 409 });
  });

  it('when the handler asks to keep its writes on a 4xx, then they commit with the stored failure', async () => {
    const a = await app();
    const h = key();
    expect((await send(a.url, 'POST', '/widgets', { name: 'declined', fail: 402, keep: true }, h)).status).toBe(402);
    expect(await db.widgets()).toEqual([{ name: 'declined', attempt: 1 }]);
    expect((await send(a.url, 'POST', '/widgets', { name: 'declined', fail: 402, keep: true }, h)).headers.get('idempotent-replayed')).toBe('true');
    expect(await db.widgets()).toHaveLength(1);
  });

  it('when the handler answers 5xx, then its writes roll back and a retry runs again (failed_retryable)', async () => {
    const a = await app();
    const h = key();
    expect((await send(a.url, 'POST', '/widgets', { name: 'a', fail: 503 }, h)).status).toBe(503);
    expect(await db.keyRow(h['idempotency-key'])).toMatchObject({ state: 'failed_retryable', response_status: null });
    expect(await db.widgets()).toHaveLength(0);
    const retry = await send(a.url, 'POST', '/widgets', { name: 'a', fail: 503 }, h);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(a.executions.get(h['idempotency-key'])).toBe(2);
    expect(await db.keyRow(h['idempotency-key'])).toMatchObject({ state: 'failed_retryable', attempts: 2 });
  });

  it('when the handler throws, then its writes roll back and the key can be retried', async () => {
    const a = await app();
    const h = key();
    expect((await send(a.url, 'POST', '/boom', {}, h)).status).toBe(500);
    expect(await db.widgets()).toHaveLength(0);
    expect(await db.keyRow(h['idempotency-key'])).toMatchObject({ state: 'failed_retryable' });
  });
});

describe('store faults', () => {
  it('when the business COMMIT fails (deferred constraint), then 503 IDEMPOTENCY_STORE_FAILED, nothing is committed and the key stays recoverable', async () => {
    await db.pool.query(`ALTER TABLE "${db.schema}".widgets ADD CONSTRAINT widgets_name_once UNIQUE (name) DEFERRABLE INITIALLY DEFERRED`);
    const a = await app();
    expect((await send(a.url, 'POST', '/widgets', { name: 'only-once' }, key())).status).toBe(201);
    const h = key();
    const r = await send(a.url, 'POST', '/widgets', { name: 'only-once' }, h);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ code: 'IDEMPOTENCY_STORE_FAILED' });
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.headers.get('location')).toBeNull(); // none of the failed success's headers leak
    expect(await db.widgets()).toEqual([{ name: 'only-once', attempt: 1 }]);
    expect(await db.keyRow(h['idempotency-key'])).toMatchObject({ state: 'started', response_status: null });
    // The broken connection was closed, so its lock is gone: the retry runs again (and fails the same way).
    expect((await send(a.url, 'POST', '/widgets', { name: 'only-once' }, h)).status).toBe(503);
    expect(await db.keyRow(h['idempotency-key'])).toMatchObject({ state: 'started', attempts: 2 });
  });
});

describe('concurrent duplicates', () => {
  it('when a duplicate waits longer than waitTimeoutMs (wait mode), then it gets 409 and the first still completes', async () => {
    const a = await app({ scope: '', concurrent: 'wait', waitTimeoutMs: 50 });
    const h = key();
    const first = send(a.url, 'POST', '/widgets?stall=1', { name: 'slow' }, h);
    await a.stalled(1);
    const dup = await send(a.url, 'POST', '/widgets?stall=1', { name: 'slow' }, h);
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
    a.releaseStalled();
    expect((await first).status).toBe(201);
    const replay = await send(a.url, 'POST', '/widgets', { name: 'slow' }, h); // the query string is not part of the fingerprint
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await db.widgets()).toHaveLength(1);
  });

  it('when a duplicate arrives while the first is in flight (conflict mode), then 409 with Retry-After, and the first completes once', async () => {
    const a = await app();
    const h = key();
    const first = send(a.url, 'POST', '/widgets?stall=1', { name: 'a' }, h);
    await a.stalled(1);
    const dup = await send(a.url, 'POST', '/widgets?stall=1', { name: 'a' }, h);
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
    expect(dup.headers.get('retry-after')).toBe('1');
    a.releaseStalled();
    expect((await first).status).toBe(201);
    expect(await db.widgets()).toHaveLength(1);
  });

  it('when 20 identical requests race in wait mode, then the handler runs once and 19 get the replay', async () => {
    const a = await app({ scope: '', concurrent: 'wait' });
    const h = key();
    const replies = await Promise.all(Array.from({ length: 20 }, () => send(a.url, 'POST', '/widgets', { name: 'race' }, h)));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    expect(new Set(replies.map((r) => r.text)).size).toBe(1);
    expect(await db.widgets()).toHaveLength(1);
    expect(a.executions.get(h['idempotency-key'])).toBe(1);
  });

  it('when 20 identical requests race in conflict mode, then exactly one runs and the rest are 409 or replays', async () => {
    const a = await app();
    const h = key();
    const replies = await Promise.all(Array.from({ length: 20 }, () => send(a.url, 'POST', '/widgets', { name: 'race' }, h)));
    const fresh = replies.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
    expect(fresh).toHaveLength(1);
    expect(replies.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(await db.widgets()).toHaveLength(1);
  });
});

describe('expiry', () => {
  it('when a key has expired, then the sweeper removes it and the key can be used afresh', async () => {
    const a = await app({ scope: '', ttlSeconds: 3600 });
    const h = key();
    await send(a.url, 'POST', '/widgets', { name: 'a' }, h);
    await send(a.url, 'POST', '/widgets', { name: 'b' }, key());
    expect(await a.sweep()).toBe(0);
    await db.pool.query(`UPDATE "${db.schema}".idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [h['idempotency-key']]);
    expect(await a.sweep()).toBe(1);
    expect(await db.keyRow(h['idempotency-key'])).toBeUndefined();
    const reused = await send(a.url, 'POST', '/widgets', { name: 'other body' }, h);
    expect(reused.status).toBe(201);
    expect(reused.headers.get('idempotent-replayed')).toBeNull();
  });

  it('when an expired key was not swept yet, then a new request with it runs afresh instead of replaying', async () => {
    const a = await app();
    const h = key();
    await send(a.url, 'POST', '/widgets', { name: 'a' }, h);
    await db.pool.query(`UPDATE "${db.schema}".idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [h['idempotency-key']]);
    const again = await send(a.url, 'POST', '/widgets', { name: 'b' }, h);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(await db.keyRow(h['idempotency-key'])).toMatchObject({ state: 'completed', attempts: 1 });
  });
});
