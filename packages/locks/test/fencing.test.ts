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
import { Redlock } from '../src/index.ts';
import { setupDb, startChild, startRedisTrio, type Child, type RedisTrio, type TestDb } from './support.ts';

let trio: RedisTrio;
let db: TestDb;
let child: Child | undefined;
beforeAll(async () => {
  trio = await startRedisTrio();
});
afterAll(async () => {
  await trio.close();
});
beforeEach(async () => {
  db = await setupDb();
});
afterEach(async () => {
  await child?.kill();
  await db.cleanup();
});

describe('a lock holder paused past its lease', () => {
  it('when it wakes and writes, then the fenced resource refuses its token while the unfenced one takes the stale write', async () => {
    const prefix = `test:${suffix()}:`;
    const ttlMs = 600;
    child = startChild('paused-holder', { LOCKS_SCHEMA: db.schema, LOCKS_TTL_MS: String(ttlMs), LOCKS_REDIS_URLS: trio.urls().join(','), LOCKS_PREFIX: prefix });
    const staleToken = Number(await child.line(/locked (\d+)/));
    const redlock = new Redlock({ clients: trio.clients, prefix });

    // While it runs, its heartbeat keeps the lease: a contender is refused even well past one TTL.
    child.send('check');
    await child.line(/(checked)/);
    expect(await redlock.tryAcquire('resource', ttlMs)).toBeUndefined();

    child.process.kill('SIGSTOP');
    const lease = await eventually('the paused holder\'s lease to expire', () => redlock.tryAcquire('resource', 30_000), (l) => l !== undefined);
    expect(lease!.token).toBeGreaterThan(staleToken);
    const fenced = await db.pool.query(`UPDATE "${db.schema}".fenced SET value = 'from the new holder', token = $1 WHERE id = 1 AND token <= $1`, [lease!.token]);
    await db.pool.query(`UPDATE "${db.schema}".plain SET value = 'from the new holder' WHERE id = 1`);
    expect(fenced.rowCount).toBe(1);

    child.process.kill('SIGCONT');
    child.send('write');
    expect(await child.line(/wrote (fenced=\d+ plain=\d+)/)).toBe('fenced=0 plain=1');

    const value = async (table: string): Promise<unknown> => (await db.pool.query(`SELECT value FROM "${db.schema}".${table} WHERE id = 1`)).rows[0];
    expect(await value('fenced')).toEqual({ value: 'from the new holder' });
    expect(await value('plain')).toEqual({ value: 'from the paused holder' }); // Redlock alone: the new holder's write is lost
    await lease!.release();
    expect(await child.exited).toBe(0);
  });
});
