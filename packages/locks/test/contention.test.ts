/**
 * Mutual exclusion under contention: N processes × M iterations each read a
 * counter and write it back plus one in two statements, under the lock. Any
 * overlap would lose an increment; an `inside` marker on the shared Redis
 * counts overlaps directly. The contenders start together (each waits for
 * `go` once connected), and the control without a lock shows the counter
 * does lose increments when nothing excludes.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { deletePrefix, eventually, redisUrl, suffix } from '@bulwark/test-support';
import { setupDb, startChild, startRedisTrio, type Child, type RedisTrio, type TestDb } from './support.ts';

const PROCESSES = 4;
const ITERATIONS = 100;

let trio: RedisTrio;
let db: TestDb;
let prefix: string;
let children: Child[] = [];
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
  await Promise.all(children.map((c) => c.kill()));
  children = [];
  await deletePrefix(redisUrl(), prefix);
  await db.cleanup();
});

async function contend(kind: 'pg' | 'redlock' | 'none'): Promise<{ count: number; overlaps: number }> {
  children = Array.from({ length: PROCESSES }, () =>
    startChild('contender', { LOCKS_SCHEMA: db.schema, LOCKS_PREFIX: prefix, LOCKS_ITERATIONS: String(ITERATIONS), LOCKS_KIND: kind, LOCKS_REDIS_URLS: trio.urls().join(',') }),
  );
  await Promise.all(children.map((c) => c.line(/(ready)/)));
  for (const c of children) c.send('go');
  const reports = await Promise.all(children.map((c) => c.line(/done overlaps=(\d+)/)));
  const { rows } = await db.pool.query<{ n: number }>(`SELECT n FROM "${db.schema}".counter WHERE id = 1`);
  return { count: rows[0]!.n, overlaps: reports.reduce((sum, r) => sum + Number(r), 0) };
}

/** The tokens in the order the counter advanced; under a lock each is larger than the one before. */
async function tokensInWriteOrder(): Promise<number[]> {
  const { rows } = await db.pool.query<{ token: string }>(`SELECT token FROM "${db.schema}".grants ORDER BY n`);
  return rows.map((r) => Number(r.token));
}

const increasing = (tokens: number[]): boolean => tokens.every((t, i) => i === 0 || t > tokens[i - 1]!);

describe(`${PROCESSES} processes × ${ITERATIONS} read-then-write increments`, () => {
  it('when nothing excludes (the control), then increments are lost', async () => {
    // Losses depend on scheduling, so the control runs rounds until one loses (usually the first).
    const lost = await eventually(
      'a round without a lock to lose an increment',
      async () => {
        await Promise.all(children.map((c) => c.kill()));
        await db.pool.query(`UPDATE "${db.schema}".counter SET n = 0 WHERE id = 1`);
        return contend('none');
      },
      (r) => r.count < PROCESSES * ITERATIONS,
      60_000,
    );
    expect(lost.overlaps).toBeGreaterThan(0);
  }, 90_000);

  it('when each increment holds a PostgreSQL session lock, then no increment is lost, no two critical sections overlap, and tokens grow in write order', async () => {
    expect(await contend('pg')).toEqual({ count: PROCESSES * ITERATIONS, overlaps: 0 });
    const tokens = await tokensInWriteOrder();
    expect(tokens).toHaveLength(PROCESSES * ITERATIONS);
    expect(increasing(tokens)).toBe(true);
  });

  it('when each increment holds a Redlock lease on three Redis, then no increment is lost, no two critical sections overlap, and tokens grow in write order', async () => {
    expect(await contend('redlock')).toEqual({ count: PROCESSES * ITERATIONS, overlaps: 0 });
    const tokens = await tokensInWriteOrder();
    expect(tokens).toHaveLength(PROCESSES * ITERATIONS);
    expect(increasing(tokens)).toBe(true);
  });
});
