/**
 * Why the fencing token: a holder paused past its lease (SIGSTOP: a GC pause,
 * a swapped-out page, a VM migration) wakes up believing it still holds the
 * lock. Redlock cannot stop it — its check ran before the pause — so only
 * the resource can: it keeps the highest token it has seen and refuses older
 * ones. The `plain` table, written without a token, shows what Redlock alone
 * allows: the stale holder's write lands on top of the new holder's.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { eventually, suffix } from '@bulwark/test-support';
import { PgLocks, Redlock } from '../src/index.ts';
import { setupDb, startChild, startRedisTrio, type Child, type RedisTrio, type TestDb } from './support.ts';

let trio: RedisTrio;
let db: TestDb;
let child: Child | undefined;
let prefix: string;
beforeAll(async () => {
  trio = await startRedisTrio();
});
afterAll(async () => {
  await trio.close();
});
beforeEach(async () => {
  db = await setupDb();
  prefix = `test:${suffix()}:`;
});
afterEach(async () => {
  await child?.kill();
  await db.cleanup();
});

type Contender = { tryAcquire(): Promise<{ token: number; release(): Promise<unknown> } | undefined> };

async function pausedHolderScenario(kind: 'redlock' | 'pg', contender: Contender): Promise<void> {
  const ttlMs = 600;
  child = startChild('paused-holder', { LOCKS_KIND: kind, LOCKS_SCHEMA: db.schema, LOCKS_TTL_MS: String(ttlMs), LOCKS_REDIS_URLS: trio.urls().join(','), LOCKS_PREFIX: prefix });
  const staleToken = Number(await child.line(/locked (\d+)/));

  // While it runs, its heartbeat keeps the lease: three beats (a whole TTL) later a contender is still refused.
  await child.line(/(beat 3)\b/);
  child.send('check');
  await child.line(/(checked)/);
  expect(await contender.tryAcquire()).toBeUndefined();

  child.process.kill('SIGSTOP');
  const lease = await eventually("the paused holder's lease to end", () => contender.tryAcquire(), (l) => l !== undefined);
  expect(lease!.token).toBeGreaterThan(staleToken);
  const fenced = await db.pool.query(`UPDATE "${db.schema}".fenced SET value = 'from the new holder', token = $1 WHERE id = 1 AND token <= $1`, [lease!.token]);
  await db.pool.query(`UPDATE "${db.schema}".plain SET value = 'from the new holder' WHERE id = 1`);
  expect(fenced.rowCount).toBe(1);

  child.process.kill('SIGCONT');
  child.send('write');
  expect(await child.line(/wrote (fenced=\d+ plain=\d+)/)).toBe('fenced=0 plain=1');

  const value = async (table: string): Promise<unknown> => (await db.pool.query(`SELECT value FROM "${db.schema}".${table} WHERE id = 1`)).rows[0];
  expect(await value('fenced')).toEqual({ value: 'from the new holder' });
  expect(await value('plain')).toEqual({ value: 'from the paused holder' }); // the lock alone: the new holder's write is lost
  await lease!.release();
  expect(await child.exited).toBe(0);
}

describe('a lock holder paused past its lease', () => {
  it('when a Redlock holder wakes and writes, then the fenced resource refuses its token while the unfenced one takes the stale write', async () => {
    const redlock = new Redlock({ clients: trio.clients, prefix });
    await pausedHolderScenario('redlock', { tryAcquire: () => redlock.tryAcquire('resource', 30_000) });
  });

  it('when a PostgreSQL session-lock holder with a lease wakes and writes, then the server has ended its session, and the fenced resource refuses its token', async () => {
    const locks = new PgLocks({ pool: db.pool, schema: db.schema });
    await pausedHolderScenario('pg', { tryAcquire: () => locks.tryAcquire('resource') });
  });
});
