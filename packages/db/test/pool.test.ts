import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { toProblem } from '@bulwark/errors';
import { DbUnavailableError, PoolClosedError, PoolExhaustedError, StatementTimeoutError, withTenant, type DbClient } from '../src/index.ts';
import { createSchema, metricValue, testPool, waitFor, type TestPool } from './support.ts';

const pools: TestPool[] = [];
const held: DbClient[] = [];
function pool(overrides: Parameters<typeof testPool>[0] = {}): TestPool {
  const p = testPool(overrides);
  pools.push(p);
  return p;
}

afterEach(async () => {
  for (const c of held.splice(0)) c.release();
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('pool', () => {
  it('when a client is held past the leak threshold, then it is logged once with the acquiring stack and counted', async () => {
    const p = pool({ leakThresholdMs: 50 });
    const client = await p.connect();
    held.push(client);
    await waitFor(() => p.log.withMsg('database client held past leak threshold').length > 0, 'leak log');
    // Sentinel: a second client, taken after the first leak was reported, leaks after the same threshold.
    // Timers of equal length fire in order, so once its report is in, a repeat for the first would be too.
    const sentinel = await p.connect();
    held.push(sentinel);
    await waitFor(() => p.log.withMsg('database client held past leak threshold').length > 1, 'the sentinel client\'s leak log');

    const leaks = p.log.withMsg('database client held past leak threshold');
    expect(leaks).toHaveLength(2); // the first client once, then the sentinel
    expect(leaks[0]!.level).toBe('warn');
    expect(String(leaks[0]!.obj.stack)).toContain('pool.test.ts');
    expect(await metricValue(p.registry, 'db_pool_leaks_total', { pool: p.name })).toBe(2);

    held.pop()!.release();
    held.pop()!.release();
    expect(p.log.withMsg('leaked database client released')).toHaveLength(2);
  });

  it('when a client is released before the threshold, then no leak is reported', async () => {
    const p = pool({ leakThresholdMs: 100 });
    await p.withClient((c) => c.query('SELECT 1'));
    // Sentinel: a client taken after the first was released, and held, leaks after the same threshold;
    // when its report is in, the first client's would have been too.
    const sentinel = await p.connect();
    held.push(sentinel);
    await waitFor(() => p.log.withMsg('database client held past leak threshold').length > 0, 'the sentinel client\'s leak log');
    expect(p.log.withMsg('database client held past leak threshold')).toHaveLength(1);
    expect(await metricValue(p.registry, 'db_pool_leaks_total')).toBe(1);
  });

  it('when the pool stays exhausted past the acquire timeout, then callers get a 503 PoolExhaustedError and the pool recovers', async () => {
    const p = pool({ max: 2, acquireTimeoutMs: 100, connectTimeoutMs: 10_000 }); // opening the two connections may be slow on a busy machine
    held.push(await p.connect(), await p.connect());

    const err = await p.query('SELECT 1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolExhaustedError);
    expect(err).toMatchObject({ code: 'DB_POOL_EXHAUSTED', status: 503, retryAfterSeconds: 1 });
    const problem = toProblem(err);
    expect(problem.status).toBe(503);
    expect(problem.headers['retry-after']).toBe('1');
    await expect(p.connect()).rejects.toBeInstanceOf(PoolExhaustedError);
    expect(await metricValue(p.registry, 'db_pool_exhausted_total', { pool: p.name })).toBe(2);

    for (const c of held.splice(0)) c.release();
    const { rows } = await p.query<{ one: number }>('SELECT 1 AS one');
    expect(rows[0]!.one).toBe(1);
  });

  it('when a statement runs past the statement timeout, then PostgreSQL cancels it and the pool stays usable', async () => {
    const p = pool({ statementTimeoutMs: 100 });
    const err = await p.query({ name: 'test.sleep', text: 'SELECT pg_sleep(30)' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatementTimeoutError);
    expect(err).toMatchObject({ code: 'DB_STATEMENT_TIMEOUT', status: 503, statement: 'test.sleep', cause: { code: '57014' } });
    expect(await metricValue(p.registry, 'db_query_errors_total', { pool: p.name, sqlstate: '57014' })).toBe(1);
    await expect(p.query('SELECT 1')).resolves.toMatchObject({ rowCount: 1 });
  });

  it('when queries are named, then durations are recorded per statement name and unnamed ones share a label', async () => {
    const p = pool();
    await p.query({ name: 'orders.byId', text: 'SELECT $1::int AS id', values: [7] });
    await p.query({ name: 'orders.byId', text: 'SELECT $1::int AS id', values: [8] });
    await p.query('SELECT 1');
    const count = (statement: string) => metricValue(p.registry, 'db_query_duration_seconds', { pool: p.name, statement }, 'db_query_duration_seconds_count');
    expect(await count('orders.byId')).toBe(2);
    expect(await count('unnamed')).toBe(1);
    expect(await metricValue(p.registry, 'db_pool_acquire_wait_seconds', { pool: p.name }, 'db_pool_acquire_wait_seconds_count')).toBe(3);
  });

  it('when scraped, then the gauges report open, idle and waiting clients and the size', async () => {
    const p = pool({ max: 3 });
    held.push(await p.connect());
    await p.query('SELECT 1');
    expect(await metricValue(p.registry, 'db_pool_clients', { pool: p.name })).toBe(2);
    expect(await metricValue(p.registry, 'db_pool_clients_idle', { pool: p.name })).toBe(1);
    expect(await metricValue(p.registry, 'db_pool_waiting', { pool: p.name })).toBe(0);
    expect(await metricValue(p.registry, 'db_pool_size', { pool: p.name })).toBe(3);
  });

  it('when a query fails with a SQL error, then the error keeps its SQLSTATE and is counted', async () => {
    const p = pool();
    await expect(p.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
    expect(await metricValue(p.registry, 'db_query_errors_total', { pool: p.name, sqlstate: '42P01' })).toBe(1);
  });

  it('when searchPath is set, then unqualified names resolve in that schema', async () => {
    const s = await createSchema();
    try {
      const p = pool({ searchPath: [s.schema] });
      await p.query('CREATE TABLE things (id int)');
      const { rows } = await p.query<{ schema: string }>("SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'things'");
      expect(rows.map((r) => r.schema)).toContain(s.schema);
    } finally {
      await s.drop();
    }
  });

  it('when the database is reachable, then check() resolves; when aborted or closed, it throws a 503', async () => {
    const p = pool();
    await expect(p.check()).resolves.toBeUndefined();
    await expect(p.check(AbortSignal.abort())).rejects.toBeInstanceOf(DbUnavailableError);
    await p.close();
    await expect(p.check()).rejects.toMatchObject({ status: 503 });
    await expect(p.query('SELECT 1')).rejects.toBeInstanceOf(PoolClosedError);
  });

  it('when the server cannot be reached, then queries fail with DbUnavailableError', async () => {
    const p = pool({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres', acquireTimeoutMs: 2_000 });
    await expect(p.query('SELECT 1')).rejects.toMatchObject({ code: 'DB_UNAVAILABLE', status: 503 });
    await expect(p.check()).rejects.toBeInstanceOf(DbUnavailableError);
  });

  it('when a query asks to be prepared, then its connection parses it once under its name and later runs only bind it; without the flag nothing is prepared', async () => {
    const p = pool({ max: 1 });
    const prepared = { name: 'test.prepared_add', text: 'SELECT $1::int + 1 AS n', prepare: true } as const;
    for (const n of [1, 2, 3]) expect((await p.query<{ n: number }>({ ...prepared, values: [n] })).rows[0]!.n).toBe(n + 1);
    await p.query({ name: 'test.unprepared', text: 'SELECT 2 AS two' });

    const { rows } = await p.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements ORDER BY name');
    expect(rows).toEqual([{ name: 'test.prepared_add', statement: prepared.text }]);
    // The name still labels the query-duration histogram, prepared or not.
    expect(await metricValue(p.registry, 'db_query_duration_seconds', { pool: p.name, statement: 'test.prepared_add' }, 'db_query_duration_seconds_count')).toBe(3);
    expect(await metricValue(p.registry, 'db_query_duration_seconds', { pool: p.name, statement: 'test.unprepared' }, 'db_query_duration_seconds_count')).toBe(1);
  });

  // Issue 26: errors are told apart by where the wait ended (the pool's own deadline, its own closed
  // state, pg's connect failing), never by pg-pool's message strings, so an upgrade rewording them
  // changes nothing. Each path below would fall through to another class if that broke.
  it('when a caller waits in the queue and the pool is closed, then it gets PoolClosedError (not exhaustion nor unavailability)', async () => {
    const p = pool({ max: 1, acquireTimeoutMs: 30_000 });
    const holder = await p.connect();
    const waiting = p.connect().catch((e: unknown) => e);
    await waitFor(() => p.stats().waiting === 1, 'caller queued in the pool');
    const closing = p.close();
    expect(await waiting).toBeInstanceOf(PoolClosedError);
    holder.release();
    await closing;
  });

  it('when a server accepts the connection but never answers, then the caller gets DbUnavailableError within the acquire timeout, not PoolExhaustedError', async () => {
    const sockets: Socket[] = [];
    const silentServer: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    const { port } = silentServer.address() as { port: number };
    try {
      const p = pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, acquireTimeoutMs: 200 });
      const err = await p.query('SELECT 1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DbUnavailableError);
      expect(await metricValue(p.registry, 'db_pool_exhausted_total', { pool: p.name })).toBe(0);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silentServer.close(resolve));
    }
  });

  it('when a queued caller gives up at the deadline, then the connection that frees up later goes back to the pool, not to the gone caller', async () => {
    const p = pool({ max: 1, acquireTimeoutMs: 100, connectTimeoutMs: 10_000 });
    const holder = await p.connect();
    await expect(p.connect()).rejects.toBeInstanceOf(PoolExhaustedError);
    holder.release();
    await waitFor(() => p.stats().idle === 1 && p.stats().waiting === 0, 'the abandoned request handed its client back');
    await expect(p.query('SELECT 1')).resolves.toMatchObject({ rowCount: 1 });
  });

  it('when a noisy tenant floods the pool, then it holds at most its share and a quiet tenant still gets a connection ahead of the noisy backlog', async () => {
    const p = pool({ max: 4, tenantMaxConnections: 2, acquireTimeoutMs: 30_000 });
    const granted: string[] = [];
    const noisyHeld: DbClient[] = [];
    const noisy = Array.from({ length: 10 }, (_, i) =>
      withTenant('noisy', () => p.connect()).then((c) => {
        granted.push(`noisy-${i}`);
        noisyHeld.push(c);
        return c;
      }),
    );
    await waitFor(() => granted.length === 2 && p.stats().tenantWaiting === 8, 'noisy tenant at its share, the rest queued behind it');
    const quiet = await withTenant('quiet', () => p.connect());
    granted.push('quiet');
    // The quiet tenant was served third, while eight noisy callers were still queued.
    expect([...granted.slice(0, 2)].sort()).toEqual(['noisy-0', 'noisy-1']);
    expect(granted[2]).toBe('quiet');
    expect(p.stats().tenantWaiting).toBe(8);
    expect(p.stats().waiting).toBe(0);
    expect(await metricValue(p.registry, 'db_pool_tenant_queued_total', { pool: p.name })).toBe(8);
    expect(await metricValue(p.registry, 'db_pool_tenant_waiting', { pool: p.name })).toBe(8);
    quiet.release();
    // Each released noisy connection passes to the next noisy caller in FIFO order; never more than two at once.
    while (granted.length < 11) {
      const next = granted.length;
      noisyHeld.shift()!.release();
      await waitFor(() => granted.length === next + 1, `noisy caller ${next - 1} served`);
      expect(noisyHeld.length).toBeLessThanOrEqual(2);
    }
    expect(granted.slice(3)).toEqual(Array.from({ length: 8 }, (_, i) => `noisy-${i + 2}`));
    for (const c of noisyHeld.splice(0)) c.release();
    await Promise.all(noisy);
  });
});
