import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertStockConsistent, call, key, setupInventory, type TestInventory } from './support.ts';

let env: TestInventory;
const children: ChildProcess[] = [];
beforeEach(async () => {
  env = await setupInventory();
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    }
  }
  await env.cleanup();
});

/** The real entry point (src/main.ts) as its own process, on a free port of its choosing. */
function startProcess(): { child: ChildProcess; output: () => string; url: Promise<string>; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', main], {
    env: { ...process.env, ...env.env({ LOG_LEVEL: 'info', SWEEPER_ENABLED: 'true', SHUTDOWN_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: '5000', DB_POOL_MAX: '20' }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`inventory exited (${code}) before listening:\n${out}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // The process listens before it has migrated (/readyz says starting meanwhile): the url is handed out once it is ready.
  const ready = url.then(async (u) => {
    await waitUntil(async () => (await fetch(`${u}/readyz`).catch(() => undefined))?.status === 200, 'the child to be ready');
    return u;
  });
  return { child, output: () => out, url: ready, exited };
}

async function waitUntil(predicate: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('inventory as a process', () => {
  it('when the process is SIGKILLed inside a reservation, then nothing is held, and the retry with the same key recovers and holds once', async () => {
    const p = startProcess();
    const url = await p.url;
    await call(url, 'PUT', '/v1/skus/A', { onHand: 5 });
    // Park the child's hold on the SKU row: its transaction (key `started`) waits on our lock.
    const blocker = await env.db.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM skus WHERE sku = 'A' FOR UPDATE`);
    const h = key();
    const body = { orderId: 'o-crash', items: [{ sku: 'A', quantity: 2 }] };
    const inFlight = call(url, 'POST', '/v1/internal/reservations', body, h).catch((err: unknown) => err);
    await waitUntil(
      async () => (await env.db.query(`SELECT 1 FROM idempotency_keys WHERE key = $1 AND state = 'started'`, [h['idempotency-key']])).rowCount === 1,
      'the key is started in the child',
    );
    await waitUntil(async () => (await env.db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE skus SET reserved%'`)).rowCount! > 0, 'the child waits on the SKU row');
    p.child.kill('SIGKILL');
    expect((await p.exited).signal).toBe('SIGKILL');
    expect(await inFlight).toHaveProperty('message', 'fetch failed');
    await blocker.query('COMMIT');
    blocker.release();

    const { url: url2 } = await env.start();
    let retry = await call(url2, 'POST', '/v1/internal/reservations', body, h);
    await waitUntil(async () => {
      if (retry.status !== 409 || retry.body?.code !== 'IDEMPOTENCY_KEY_IN_FLIGHT') return true;
      retry = await call(url2, 'POST', '/v1/internal/reservations', body, h);
      return false;
    }, "PostgreSQL ends the dead child's session");
    expect(retry.status).toBe(201);
    expect((await call(url2, 'GET', '/v1/skus/A')).body).toEqual({ sku: 'A', onHand: 5, reserved: 2, available: 3 });
    const again = await call(url2, 'POST', '/v1/internal/reservations', body, h);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(retry.body.id);
    expect((await env.db.query(`SELECT state, attempts FROM idempotency_keys WHERE key = $1`, [h['idempotency-key']])).rows).toEqual([{ state: 'completed', attempts: 2 }]);
    await assertStockConsistent(env.db);
  });

  it('when the process gets SIGTERM with a request in flight, then the request completes and the process exits 0', async () => {
    const p = startProcess();
    const url = await p.url;
    await call(url, 'PUT', '/v1/skus/A', { onHand: 5 });
    const blocker = await env.db.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM skus WHERE sku = 'A' FOR UPDATE`);
    const inFlight = call(url, 'POST', '/v1/internal/reservations', { orderId: 'o-term', items: [{ sku: 'A', quantity: 1 }] }, key());
    await waitUntil(async () => (await env.db.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE skus SET reserved%'`)).rowCount! > 0, 'the request waits on the SKU row');
    p.child.kill('SIGTERM');
    await waitUntil(async () => p.output().includes('"msg":"draining"'), 'the process is draining');
    await blocker.query('COMMIT');
    blocker.release();
    expect((await inFlight).status).toBe(201);
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect((await env.db.query<{ reserved: number }>(`SELECT reserved FROM skus WHERE sku = 'A'`)).rows[0]!.reserved).toBe(1);
  });
});
