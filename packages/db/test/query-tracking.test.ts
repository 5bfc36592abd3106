import { afterEach, describe, expect, it } from '@jest/globals';
import { currentQueryWork, listenForNPlusOne, trackQueries, withTenant, type NPlusOneReport } from '../src/index.ts';
import { createSchema, metricValue, testPool, waitFor, type TestPool } from './support.ts';

const cleanups: Array<() => Promise<unknown>> = [];
function pool(overrides: Parameters<typeof testPool>[0] = {}): TestPool {
  const p = testPool(overrides);
  cleanups.push(() => p.close());
  return p;
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('query tracking', () => {
  it('when one shape runs past the threshold in one job, then it is logged once, counted and heard by listeners at their own threshold', async () => {
    const p = pool({ tracking: { nPlusOneThreshold: 5 } });
    const heard: NPlusOneReport[] = [];
    cleanups.push(async () => stop());
    const stop = listenForNPlusOne({ threshold: 3, onDetected: (r) => heard.push(r) });

    const work = await trackQueries('load-items', async () => {
      for (let i = 0; i < 7; i++) await p.query({ name: 'items.byId', text: 'SELECT $1::int AS id', values: [i] });
      await p.query({ name: 'items.all', text: 'SELECT 1 WHERE 2 IN (1, 2, 3)' });
      return currentQueryWork();
    });

    expect(work?.statements).toBe(8);
    expect(work?.shapes).toHaveLength(2);
    const logged = p.log.withMsg('N+1 queries: one statement shape ran repeatedly in one unit of work');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.obj).toMatchObject({ statement: 'items.byId', shape: 'SELECT ?::int AS id', count: 5, work: 'load-items', kind: 'job' });
    expect(await metricValue(p.registry, 'db_n_plus_one_total', { pool: p.name, statement: 'items.byId' })).toBe(1);
    expect(heard.map((r) => [r.statement, r.count])).toEqual([['items.byId', 3]]);
    expect(await metricValue(p.registry, 'db_work_statements', { pool: p.name, kind: 'job' }, 'db_work_statements_sum')).toBe(8);
  });

  it('when the same statements run in separate jobs or outside any, then nothing is reported', async () => {
    const p = pool({ tracking: { nPlusOneThreshold: 3 } });
    for (let i = 0; i < 4; i++) await p.query({ name: 'loose', text: 'SELECT $1::int', values: [i] });
    for (let i = 0; i < 4; i++) await trackQueries('one-each', () => p.query({ name: 'each', text: 'SELECT $1::int', values: [i] }));
    expect(p.log.withMsg('N+1 queries: one statement shape ran repeatedly in one unit of work')).toHaveLength(0);
  });

  it('when transactions and savepoints repeat, then they are counted but are no N+1', async () => {
    const p = pool({ tracking: { nPlusOneThreshold: 2 } });
    const work = await trackQueries('txs', async () => {
      for (let i = 0; i < 3; i++) await p.withClient(async (c) => {
        await c.query({ name: 'tx.begin', text: 'BEGIN' });
        await c.query('SAVEPOINT one_event');
        await c.query('RELEASE SAVEPOINT one_event');
        await c.query({ name: 'tx.commit', text: 'COMMIT' });
      });
      return currentQueryWork();
    });
    expect(work?.statements).toBe(12);
    expect(p.log.withMsg('N+1 queries: one statement shape ran repeatedly in one unit of work')).toHaveLength(0);
  });

  it('when a read is slow, then its analysed plan is logged with every value folded', async () => {
    const { schema, drop } = await createSchema();
    cleanups.push(drop);
    const p = pool({ searchPath: [schema], tracking: { slowQueryMs: 1, explainSampleRate: 1 } });
    await p.query('CREATE TABLE people (email text PRIMARY KEY, age int)');
    await p.query("INSERT INTO people VALUES ('ann.secret@example.com', 41)");
    await p.query({ name: 'people.byEmail', text: 'SELECT email FROM people WHERE email = $1 AND age > $2 AND pg_sleep(0.01) IS NOT NULL', values: ['ann.secret@example.com', 40] });

    await waitFor(() => p.log.entries.some((e) => e.msg === 'slow query' && e.obj.statement === 'people.byEmail'), 'slow query plan log');
    const entry = p.log.entries.find((e) => e.msg === 'slow query' && e.obj.statement === 'people.byEmail')!;
    const text = JSON.stringify(entry.obj);
    expect(text).toContain('Actual Total Time'); // ANALYZE
    expect(text).toContain('Shared Hit Blocks'); // BUFFERS
    expect(text).not.toContain('secret');
    // The bound age would show in the plan's conditions (its strings); costs and times are numbers, and the pool's random name is not the plan.
    const strings = (v: unknown): string[] => (typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : []);
    const planText = strings(entry.obj.plan).join('\n');
    expect(planText).toContain('age > ?');
    expect(planText).not.toMatch(/\b40\b/);
    expect(await metricValue(p.registry, 'db_slow_queries_total', { pool: p.name, statement: 'people.byEmail' })).toBeGreaterThanOrEqual(1);
  });

  it('when a write is slow, then it is planned without running it again, in the caller\'s tenant', async () => {
    const { schema, drop } = await createSchema();
    cleanups.push(drop);
    const p = pool({ searchPath: [schema], tracking: { slowQueryMs: 1, explainSampleRate: 1 } });
    await p.query('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)');
    await p.query('INSERT INTO counters VALUES (1, 0)');
    await withTenant('acme', () => p.query({ name: 'counters.bump', text: 'UPDATE counters SET n = n + 1 WHERE id = $1 AND pg_sleep(0.01) IS NOT NULL', values: [1] }));

    await waitFor(() => p.log.entries.some((e) => e.msg === 'slow query' && e.obj.statement === 'counters.bump'), 'slow write plan log');
    const entry = p.log.entries.find((e) => e.msg === 'slow query' && e.obj.statement === 'counters.bump')!;
    expect(JSON.stringify(entry.obj)).not.toContain('Actual Total Time');
    const { rows } = await p.query<{ n: number }>('SELECT n FROM counters WHERE id = 1');
    expect(rows[0]!.n).toBe(1);
  });
});
