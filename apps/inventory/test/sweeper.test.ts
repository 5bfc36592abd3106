import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { assertStockConsistent, call, key, setupInventory, type TestInventory } from './support.ts';

let env: TestInventory;
beforeEach(async () => {
  env = await setupInventory();
});
afterEach(async () => {
  await env.cleanup();
});

describe('expiry sweeper', () => {
  it('when two sweepers run together over 60 expired holds, then each hold is released exactly once and stock is whole again', async () => {
    const a = await env.start({ SWEEP_BATCH_SIZE: '7' });
    const b = env.build({ SWEEP_BATCH_SIZE: '7' });
    await b.start();
    await call(a.url, 'PUT', '/v1/skus/A', { onHand: 100 });
    await call(a.url, 'PUT', '/v1/skus/B', { onHand: 200 });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await call(a.url, 'POST', '/v1/internal/reservations', { orderId: `o-${i}`, items: [{ sku: 'A', quantity: 1 }, { sku: 'B', quantity: (i % 3) + 1 }] }, key());
      expect(r.status).toBe(201);
      ids.push(r.body.id as string);
    }
    const live = await call(a.url, 'POST', '/v1/internal/reservations', { orderId: 'o-live', items: [{ sku: 'A', quantity: 5 }] }, key());
    await env.db.query(`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])`, [ids]);

    const counts = [0, 0];
    // A pass can come back empty while rows remain (the other sweeper released the ones it looked at
    // between its snapshot and its lock), so each sweeper works until no expired hold is left.
    const expiredLeft = async () => (await env.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reservations WHERE status = 'held' AND expires_at <= now()`)).rows[0]!.n;
    const drain = async (i: number, app: typeof b) => {
      for (;;) {
        const n = await app.sweeper.sweepOnce();
        counts[i]! += n;
        if (n === 0 && (await expiredLeft()) === 0) return;
      }
    };
    await Promise.all([drain(0, a.app), drain(1, b)]);
    expect(counts[0]! + counts[1]!).toBe(60);

    const { rows } = await env.db.query<{ status: string; released_reason: string | null; n: number }>(`SELECT status, released_reason, count(*)::int AS n FROM reservations GROUP BY 1, 2 ORDER BY 1`);
    expect(rows).toEqual([
      { status: 'held', released_reason: null, n: 1 },
      { status: 'released', released_reason: 'expired', n: 60 },
    ]);
    expect((await call(a.url, 'GET', '/v1/skus/A')).body).toMatchObject({ onHand: 100, reserved: 5 });
    expect((await call(a.url, 'GET', '/v1/skus/B')).body).toMatchObject({ onHand: 200, reserved: 0 });
    expect((await call(a.url, 'GET', `/v1/internal/reservations/${live.body.id}`)).body.status).toBe('held');
    await assertStockConsistent(env.db);
  });

  it('when the sweeper loop runs, then an expired hold is released without anyone calling sweepOnce', async () => {
    const { url } = await env.start({ SWEEPER_ENABLED: 'true', SWEEP_INTERVAL_MS: '20' });
    await call(url, 'PUT', '/v1/skus/A', { onHand: 3 });
    const r = await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-1', items: [{ sku: 'A', quantity: 3 }], ttlSeconds: 1 }, key());
    expect(r.status).toBe(201);
    const deadline = Date.now() + 30_000;
    while ((await call(url, 'GET', `/v1/internal/reservations/${r.body.id}`)).body.status === 'held') {
      if (Date.now() > deadline) throw new Error('gave up waiting for the sweeper');
      await new Promise((res) => setTimeout(res, 50));
    }
    expect((await call(url, 'GET', '/v1/skus/A')).body).toMatchObject({ reserved: 0, available: 3 });
    expect((await call(url, 'GET', '/readyz')).status).toBe(200);
  });

  it('when a confirm holds the reservation row while a sweeper runs, then the sweeper skips it and the confirm wins', async () => {
    const { url, app } = await env.start();
    await call(url, 'PUT', '/v1/skus/A', { onHand: 10 });
    const id = (await call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-1', items: [{ sku: 'A', quantity: 2 }] }, key())).body.id as string;
    await env.db.query(`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    const blocker = await env.db.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM reservations WHERE id = $1 FOR UPDATE', [id]);
      expect(await app.sweeper.sweepOnce()).toBe(0); // skipped, not waited for
      await blocker.query("UPDATE reservations SET status = 'confirmed' WHERE id = $1", [id]);
      await blocker.query("UPDATE skus SET on_hand = on_hand - 2, reserved = reserved - 2 WHERE sku = 'A'");
      await blocker.query('COMMIT');
    } finally {
      blocker.release();
    }
    expect(await app.sweeper.sweepOnce()).toBe(0);
    expect((await call(url, 'GET', `/v1/internal/reservations/${id}`)).body.status).toBe('confirmed');
    await assertStockConsistent(env.db);
  });
});
