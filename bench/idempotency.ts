/**
 * Idempotency-Key overhead: the same POST handler (one INSERT in a
 * transaction) behind `@bulwark/idempotency` and without it, in one Express
 * app against the local PostgreSQL, BENCH_CONCURRENCY (16) concurrent
 * keep-alive clients. With the middleware every request has a fresh key (the
 * full path: lock, `started` row, BEGIN, business INSERT, stored response,
 * COMMIT, unlock); the baseline opens its own transaction for the same
 * INSERT. Rounds alternate (with, without, …); a third line shows replays
 * (retries of completed keys). Prints req/s, p50/p99 and the ratios.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { createPool } from '@bulwark/db'; // the same module instance the middleware's import resolves to
import { silent } from '@bulwark/test-support';
import { createIdempotency, migrateIdempotency, requestTransaction } from '../packages/idempotency/src/index.ts';
import { ensureInfra } from '../scripts/infra/index.ts';
import { measureClosedLoop, summarize, type Round, type Summary } from './lib/closed-loop.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const OPS = Number(process.env.BENCH_OPS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const measure = (op: (i: number) => Promise<void>): Promise<Round> => measureClosedLoop(op, { ops: OPS, concurrency: CONCURRENCY });

export default async function run(): Promise<void> {
  const pgUrl = (await ensureInfra(['postgres'])).BULWARK_PG_URL!;
  const schema = `idem_bench_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
    const pool = createPool({ connectionString: pgUrl, name: 'idem_bench', max: CONCURRENCY * 2, registry: new Registry(), log: silent, searchPath: [schema] });
  await pool.query(`CREATE SCHEMA "${schema}"`);
  await migrateIdempotency({ pool, schema });
  await pool.query(`CREATE TABLE "${schema}".items (id bigserial PRIMARY KEY, name text NOT NULL, quantity int NOT NULL)`);
  const idem = createIdempotency({ pool, scope: 'bench', schema });

  const app = express();
  app.use(express.json());
  const insert = `INSERT INTO "${schema}".items (name, quantity) VALUES ($1, $2) RETURNING id`;
  app.post('/with', idem.middleware, async (req, res) => {
    const { tx } = requestTransaction()!;
    const body = req.body as { name: string; quantity: number };
    const { rows } = await tx.query<{ id: string }>(insert, [body.name, body.quantity]);
    res.status(201).json({ id: rows[0]!.id, ...body });
  });
  app.post('/without', async (req, res) => {
    const body = req.body as { name: string; quantity: number };
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string }>(insert, [body.name, body.quantity]);
      await client.query('COMMIT');
      res.status(201).json({ id: rows[0]!.id, ...body });
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const body = JSON.stringify({ name: 'widget', quantity: 3 });
  const post = async (path: string, key?: string): Promise<void> => {
    const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) }, body });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`${path} answered ${res.status}`);
  };
  const withKey = (): Promise<void> => post('/with', randomUUID());
  const without = (): Promise<void> => post('/without');
  const replayKeys = Array.from({ length: 64 }, () => randomUUID());
  for (const k of replayKeys) await post('/with', k);
  const replay = (i: number): Promise<void> => post('/with', replayKeys[i % replayKeys.length]);

  await measure(withKey); // warm-up
  await measure(without);
  const a: Round[] = [];
  const b: Round[] = [];
  const c: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(await measure(withKey));
    b.push(await measure(without));
    c.push(await measure(replay));
  }
  const x = summarize(a);
  const y = summarize(b);
  const z = summarize(c);
  const fmt = (s: Summary): string => `${s.opsPerSec.toFixed(0).padStart(7)} req/s   p50 ${s.p50.toFixed(2)} ms   p99 ${s.p99.toFixed(2)} ms`;
  console.log(`POST + one transactional INSERT, ${CONCURRENCY} concurrent clients, ${ROUNDS}×${OPS} requests each`);
  console.log(`  with Idempotency-Key (fresh keys)   ${fmt(x)}`);
  console.log(`  without (own BEGIN/INSERT/COMMIT)   ${fmt(y)}`);
  console.log(`  replays of completed keys           ${fmt(z)}`);
  console.log(`  throughput ratio with/without ${(x.opsPerSec / y.opsPerSec).toFixed(3)}×   p50 ratio ${(x.p50 / y.p50).toFixed(3)}×   p99 ratio ${(x.p99 / y.p99).toFixed(3)}×   replay/without ${(z.opsPerSec / y.opsPerSec).toFixed(3)}×`);

  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.close();
}
