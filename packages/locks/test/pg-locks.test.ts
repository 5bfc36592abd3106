import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createPool, withTransaction } from '@bulwark/db';
import { pgUrl, registryValue, silent } from '@bulwark/test-support';
import { Registry } from 'prom-client';
import { advisoryKey, PgLocks, LockLostError, LockNotAcquiredError } from '../src/index.ts';
import { setupDb, type TestDb } from './support.ts';

let db: TestDb;
let locks: PgLocks;
let registry: Registry;
beforeEach(async () => {
  db = await setupDb();
  registry = new Registry();
  locks = new PgLocks({ pool: db.pool, schema: db.schema, registry });
});
afterEach(async () => {
  await db.cleanup();
});

describe('PostgreSQL session locks', () => {
  it('when a name is held, then another session is refused at once or after its wait, and takes it with a larger token once released', async () => {
    const first = await locks.acquire('report');
    expect(await locks.tryAcquire('report')).toBeUndefined();
    await expect(locks.acquire('report', { waitMs: 50 })).rejects.toBeInstanceOf(LockNotAcquiredError);
    const other = await locks.acquire('another-name');
    await other.release();

    expect(await first.release()).toBe(true);
    const second = await locks.acquire('report');
    expect(second.token).toBeGreaterThan(first.token);
    await second.release();
    expect(db.pool.stats().total - db.pool.stats().idle).toBe(0);
    expect(await registryValue(registry, 'lock_acquisitions_total', { kind: 'pg_session', outcome: 'acquired' })).toBe(3);
    expect(await registryValue(registry, 'lock_acquisitions_total', { kind: 'pg_session', outcome: 'busy' })).toBe(2);
    expect(await registryValue(registry, 'lock_held_seconds', { kind: 'pg_session' }, 'lock_held_seconds_count')).toBe(3);
  });

  it('when a waiter is queued, then it gets the lock as soon as the holder releases', async () => {
    const first = await locks.acquire('queue');
    const waiting = locks.acquire('queue', { waitMs: 30_000 });
    await first.release();
    const second = await waiting;
    expect(second.token).toBeGreaterThan(first.token);
    await second.release();
  });

  it('when the holder session is terminated mid-work, then withLock reports the lock as lost and the next holder gets a larger token', async () => {
    let lost = 0;
    const run = locks.withLock('fragile', async (lease) => {
      lost = lease.token;
      // This lock's holder only (the server is shared): a bigint key is classid (high half) and objid (low half).
      const { rows } = await db.pool.query<{ pid: number }>(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND ((classid::bigint << 32) | objid::bigint) = $1::bigint",
        [advisoryKey('fragile')],
      );
      expect(rows).toHaveLength(1);
      await db.pool.query('SELECT pg_terminate_backend($1, 10000)', [rows[0]!.pid]); // returns once it has ended
      return lease.token;
    });
    await expect(run).rejects.toBeInstanceOf(LockLostError);
    expect(await registryValue(registry, 'lock_lost_total', { kind: 'pg_session' })).toBe(1);
    const next = await locks.acquire('fragile');
    expect(next.token).toBeGreaterThan(lost);
    await next.release();
  });
});

describe('PostgreSQL session locks with a lease', () => {
  it('when a leased lock is released or refused, then its connection goes back to the pool without the idle timeout', async () => {
    const one = createPool({ connectionString: pgUrl(), name: 'locks_one', max: 1, registry: new Registry(), log: silent });
    const idleTimeout = async (): Promise<string> => (await one.query<{ idle_session_timeout: string }>('SHOW idle_session_timeout')).rows[0]!.idle_session_timeout;
    try {
      const leased = new PgLocks({ pool: one, schema: db.schema });
      const lease = await leased.acquire('leased', { leaseMs: 200 });
      expect(await lease.release()).toBe(true);
      expect(await idleTimeout()).toBe('0');

      const other = await locks.acquire('held-elsewhere');
      await expect(leased.acquire('held-elsewhere', { leaseMs: 200, waitMs: 0 })).rejects.toBeInstanceOf(LockNotAcquiredError);
      expect(await idleTimeout()).toBe('0');
      await expect(leased.acquire('held-elsewhere', { leaseMs: 200, waitMs: 50 })).rejects.toBeInstanceOf(LockNotAcquiredError);
      expect(await idleTimeout()).toBe('0');
      await other.release();
    } finally {
      await one.close();
    }
  });
});

describe('PostgreSQL transaction locks', () => {
  it('when a transaction holding the lock rolls back, then its token is never handed out again', async () => {
    const tokens: number[] = [];
    await expect(
      withTransaction(db.pool, async (tx) => {
        tokens.push(await locks.lockInTransaction(tx, 'xact'));
        throw new Error('rolled back on purpose');
      }),
    ).rejects.toThrow('rolled back on purpose');
    await withTransaction(db.pool, async (tx) => {
      tokens.push(await locks.lockInTransaction(tx, 'xact'));
    });
    expect(tokens[1]).toBeGreaterThan(tokens[0]!);
    expect(await registryValue(registry, 'lock_acquisitions_total', { kind: 'pg_xact', outcome: 'acquired' })).toBe(2);
  });

  it('when one transaction holds the lock, then another cannot take it until the first ends', async () => {
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      const token = await locks.lockInTransaction(holder, 'xact-busy');
      expect(await withTransaction(db.pool, (tx) => locks.tryLockInTransaction(tx, 'xact-busy'))).toBeUndefined();
      expect((await locks.tryAcquire('xact-busy'))?.token).toBeUndefined();
      await holder.query('COMMIT');
      const after = await withTransaction(db.pool, (tx) => locks.tryLockInTransaction(tx, 'xact-busy'));
      expect(after).toBeGreaterThan(token);
    } finally {
      holder.release();
    }
  });

  it('when the fenced resource has seen a token, then a write with an older token is refused', async () => {
    const older = await withTransaction(db.pool, (tx) => locks.lockInTransaction(tx, 'fence'));
    const newer = await withTransaction(db.pool, (tx) => locks.lockInTransaction(tx, 'fence'));
    const write = (value: string, token: number) =>
      db.pool.query(`UPDATE "${db.schema}".fenced SET value = $1, token = $2 WHERE id = 1 AND token <= $2`, [value, token]);
    expect((await write('newer', newer)).rowCount).toBe(1);
    expect((await write('older', older)).rowCount).toBe(0);
    expect((await db.pool.query(`SELECT value FROM "${db.schema}".fenced`)).rows[0]).toEqual({ value: 'newer' });
  });
});
