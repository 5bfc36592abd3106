/**
 * `npm run bench -- chat`, two figures with same-run baselines:
 *
 * 1. Connections: BENCH_CONNECTIONS (default 2,000; the issue's figure is
 *    10,000) idle WebSocket connections, opened by BENCH_CLIENT_PROCS client
 *    processes, against one chat instance (each connection authenticated
 *    with an ES256 token, announced in presence, renewed by heartbeats) and
 *    against a bare `ws` echo server (same ws options) in the same run.
 *    Prints the server's RSS growth per connection (VmRSS from /proc) over
 *    the whole range (all open minus idle: what the table reports) and over
 *    the second half (a slope that garbage returned by the GC can make tiny
 *    or negative), the ratios chat/bare, and CPU % of each server over
 *    BENCH_IDLE_SECONDS of idle heartbeats (protocol pings and presence
 *    renewals). Live heap by type: bench/chat-heap.ts.
 * 2. Fan-out: a room of BENCH_MEMBERS (default 200; the issue's is 1,000)
 *    members spread over 2 chat instances, each member a connection in a
 *    client process; one sender posts BENCH_RATE messages/s (default 20)
 *    for BENCH_SECONDS (default 10). Each receiver measures send → receive
 *    on the one machine clock. Prints p50/p99/max delivery latency,
 *    deliveries per second and whether every receiver got every message in
 *    order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { WebSocket, WebSocketServer } from 'ws';
import { DEV_ROLE_PASSWORD, ensureDbRoles, urlForRole, DB_ROLES } from '@bulwark/db';
import { freePort, waitFor } from '@bulwark/test-support';
import { cpuSecondsOf } from './lib/proc-cpu.ts';
import { ensureInfra } from '../scripts/infra/index.ts';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 2_000);
const CLIENT_PROCS = Number(process.env.BENCH_CLIENT_PROCS ?? 4);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 200);
const RATE = Number(process.env.BENCH_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const TENANT = 'bench-chat';
const SELF = fileURLToPath(import.meta.url);
const CHAT_MAIN = fileURLToPath(new URL('../apps/chat/src/main.ts', import.meta.url));

export interface Key {
  jwk: JWK;
  kid: string;
}

async function sign(key: Key, sub: string): Promise<string> {
  const privateKey = await importJWK(key.jwk, 'ES256');
  return new SignJWT({ tenant: TENANT, roles: [], sid: randomUUID(), aud: 'bulwark' }).setProtectedHeader({ alg: 'ES256', kid: key.kid }).setSubject(sub).setIssuedAt().setExpirationTime('2h').sign(privateKey);
}

// Child modes: a bare ws echo server, or a client process holding connections.
if (process.env.BENCH_BARE_WS) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 65_536, perMessageDeflate: false, clientTracking: false });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
  wss.on('listening', () => process.stdout.write(`PORT ${(wss.address() as { port: number }).port}\n`));
}
if (process.env.BENCH_CLIENT) {
  const { url, count, prefix, room, key } = JSON.parse(process.env.BENCH_CLIENT) as { url: string; count: number; prefix: string; room?: string; key?: Key };
  const sockets: WebSocket[] = [];
  const latencies: number[] = [];
  let outOfOrder = 0;
  let opened = 0;
  let closing = false;
  let retried = 0;
  const open = (i: number, headers: Record<string, string>) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    let last = 0;
    let counted = false;
    const markOpen = () => {
      counted = true;
      opened++;
    };
    ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as { type: string; message?: { seq: number; body: string } };
      if (f.type === 'welcome') {
        if (room) ws.send(JSON.stringify({ type: 'subscribe', room }));
        else markOpen();
      } else if (f.type === 'subscribed') markOpen();
      else if (f.type === 'message' && f.message) {
        latencies.push(Date.now() - Number(f.message.body));
        if (f.message.seq !== last + 1 && last !== 0) outOfOrder++;
        last = f.message.seq;
      }
    });
    if (!key) ws.on('open', markOpen);
    // A connection the server could not set up (closed 1011 under load) is opened again, as a client would.
    ws.on('close', () => {
      if (counted || closing) return;
      retried++;
      setTimeout(() => open(i, headers), 500);
    });
    ws.on('error', (err) => process.stderr.write(`client error ${String(err)}\n`));
    sockets[i] = ws;
  };
  for (let i = 0; i < count; i++) {
    open(i, key ? { authorization: `Bearer ${await sign(key, `${prefix}-${i}`)}` } : {});
    // Open in small batches: the servers share 2 cores with everyone.
    if (i % 50 === 49) await waitFor(() => opened >= i + 1 - 10, 'connections opening', 120_000, 10);
  }
  await waitFor(() => opened === count, 'every connection open', 300_000, 20);
  if (retried > 0) process.stderr.write(`client ${prefix}: ${retried} connections opened again after the server closed them during setup\n`);
  process.stdout.write('READY\n');
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'REPORT') process.stdout.write(`REPORT ${JSON.stringify({ latencies, outOfOrder })}\n`);
    if (line === 'CLOSE') {
      closing = true;
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  });
}

function startChild(args: string[], env: Record<string, string>, portLine?: RegExp, cwd?: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', ...args], { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = portLine?.exec(line);
      if (m) resolve({ child, port: Number(m[1]) });
      if (!portLine && line === 'READY') resolve({ child, port: 0 });
    });
    child.once('exit', (code) => reject(new Error(`child ${args.join(' ')} exited ${code}`)));
  });
}

/** The baseline: a bare `ws` echo server (same ws options as chat) in a child process. */
export const startBareWs = (options: { execArgv?: string[]; cwd?: string } = {}) => startChild([...(options.execArgv ?? []), SELF], { BENCH_BARE_WS: '1' }, /^PORT (\d+)$/, options.cwd);

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

export async function openClients(url: string, total: number, key: Key | undefined, prefix: string, room?: string): Promise<ChildProcess[]> {
  const per = Math.ceil(total / CLIENT_PROCS);
  const children = await Promise.all(
    Array.from({ length: CLIENT_PROCS }, (_, p) => startChild([SELF], { BENCH_CLIENT: JSON.stringify({ url, count: Math.min(per, total - p * per), prefix: `${prefix}-${p}`, ...(room ? { room } : {}), ...(key ? { key } : {}) }) })),
  );
  return children.map((c) => c.child);
}

export function closeClients(children: ChildProcess[]): void {
  for (const c of children) c.stdin!.write('CLOSE\n');
}

/**
 * RSS growth per connection as the slope between half and all of the
 * connections (the first ones also pay one-time costs: code warmed up, pools
 * and buffers allocated), and CPU % over the idle window with all open.
 */
/** Heap used (KiB) of a service from its /metrics (the kit's default Node metrics); undefined for the bare server. */
async function heapKiB(metricsUrl: string | undefined): Promise<number | undefined> {
  if (!metricsUrl) return undefined;
  const text = await (await fetch(metricsUrl)).text();
  const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text);
  return m ? Number(m[1]) / 1024 : undefined;
}

async function measureServer(name: string, pid: number, connect: (count: number, prefix: string) => Promise<ChildProcess[]>, metricsUrl?: string): Promise<{ perConnKiB: number; wholeKiB: number; cpuPct: number }> {
  const half = Math.floor(CONNECTIONS / 2);
  const settle = () => new Promise((r) => setTimeout(r, 3_000));
  const base = rssKiB(pid);
  const first = await connect(half, 'h1');
  await settle();
  const mid = rssKiB(pid);
  const heapMid = await heapKiB(metricsUrl);
  const second = await connect(CONNECTIONS - half, 'h2');
  await settle();
  const cpu0 = cpuSecondsOf(pid);
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const cpuPct = ((cpuSecondsOf(pid) - cpu0) / IDLE_SECONDS) * 100;
  const after = rssKiB(pid);
  const heapAfter = await heapKiB(metricsUrl);
  closeClients([...first, ...second]);
  if (heapMid !== undefined && heapAfter !== undefined) console.log(`${name}: V8 heap used ${((heapAfter - heapMid) / (CONNECTIONS - half)).toFixed(1)} KiB per connection (the rest of the RSS growth: socket buffers, native memory, heap not yet returned)`);
  const perConnKiB = (after - mid) / (CONNECTIONS - half);
  const wholeKiB = (after - base) / CONNECTIONS;
  console.log(
    `${name}: RSS ${base} KiB idle, ${mid} KiB at ${half} connections, ${after} KiB at ${CONNECTIONS}: ${perConnKiB.toFixed(1)} KiB per connection on the second half, ${wholeKiB.toFixed(1)} over all; CPU at idle with ${CONNECTIONS} open ${cpuPct.toFixed(1)} %`,
  );
  return { perConnKiB, wholeKiB, cpuPct };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** The shared setup: infrastructure, a signing key with its JWKS server, a schema, and a way to start chat instances on it. */
export async function prepareChatBench(): Promise<{ key: Key; startChat(options?: { execArgv?: string[]; cwd?: string }): Promise<{ child: ChildProcess; url: string }>; cleanup(): Promise<void> }> {
  const infra = await ensureInfra(['postgres', 'redis']);
  const pg = infra.BULWARK_PG_URL!;
  await ensureDbRoles({ ownerUrl: pg, password: DEV_ROLE_PASSWORD });
  const pair = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const key: Key = { jwk: await exportJWK(pair.privateKey), kid };
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
  const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys: [publicJwk] })));
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const schema = `chat_bench_${randomUUID().slice(0, 8)}`;
  const chatEnv = (port: number) => ({
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    DATABASE_URL: urlForRole(pg, DB_ROLES.runtime, DEV_ROLE_PASSWORD),
    MIGRATION_DATABASE_URL: pg,
    CHAT_SCHEMA: schema,
    REDIS_URL: infra.BULWARK_REDIS_URL!,
    CHAT_REDIS_PREFIX: schema,
    JWKS_URL: `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`,
    WS_RATE_LIMIT: '1000',
    WS_RATE_BURST: '1000',
  });
  const startChat = async (options: { execArgv?: string[]; cwd?: string } = {}) => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', ...(options.execArgv ?? []), CHAT_MAIN], { cwd: options.cwd, env: { ...process.env, ...chatEnv(port) }, stdio: ['ignore', 'inherit', 'inherit'] });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok === true, 'chat ready', 120_000, 200);
    return { child, url: `http://127.0.0.1:${port}` };
  };
  async function cleanup(): Promise<void> {
    jwks.close();
    const { createPool } = await import('@bulwark/db');
    const { Registry } = await import('prom-client');
    const { silent } = await import('@bulwark/test-support');
    const pool = createPool({ connectionString: pg, name: 'chat-bench-cleanup', max: 1, registry: new Registry(), log: silent });
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pool.close();
  }
  return { key, startChat, cleanup };
}

export default async function bench(): Promise<void> {
  const { key, startChat, cleanup } = await prepareChatBench();
  const children: ChildProcess[] = [];
  try {
    // 1. Connections: chat vs a bare ws echo server.
    const bare = await startBareWs();
    children.push(bare.child);
    const bareFig = await measureServer('bare ws echo', bare.child.pid!, (n, prefix) => openClients(`ws://127.0.0.1:${bare.port}`, n, undefined, prefix));
    bare.child.kill();
    const one = await startChat();
    children.push(one.child);
    const chatFig = await measureServer('chat', one.child.pid!, (n, prefix) => openClients(`${one.url.replace('http', 'ws')}/v1/chat/ws`, n, key, prefix), `${one.url}/metrics`);
    console.log(`RSS per connection chat / bare ws: ${(chatFig.perConnKiB / bareFig.perConnKiB).toFixed(2)}× on the second half, ${(chatFig.wholeKiB / bareFig.wholeKiB).toFixed(2)}× over all (target ≤ 1.5×)`);

    // 2. Fan-out over two instances.
    const two = await startChat();
    children.push(two.child);
    const owner = 'bench-owner';
    const members = Array.from({ length: MEMBERS }, (_, i) => `f-${i < MEMBERS / 2 ? 0 : 1}-${i < MEMBERS / 2 ? i : i - MEMBERS / 2}`);
    const created = await fetch(`${one.url}/v1/rooms`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-auth-sub': owner, 'x-auth-tenant': TENANT }, body: JSON.stringify({ name: 'fan-out', kind: 'private', members }) });
    const room = ((await created.json()) as { room: { id: string } }).room.id;
    const receivers = [
      ...(await Promise.all([startChild([SELF], { BENCH_CLIENT: JSON.stringify({ url: `${one.url.replace('http', 'ws')}/v1/chat/ws`, count: MEMBERS / 2, prefix: 'f-0', room, key }) })])),
      ...(await Promise.all([startChild([SELF], { BENCH_CLIENT: JSON.stringify({ url: `${two.url.replace('http', 'ws')}/v1/chat/ws`, count: MEMBERS / 2, prefix: 'f-1', room, key }) })])),
    ].map((c) => c.child);
    children.push(...receivers);
    const sender = new WebSocket(`${one.url.replace('http', 'ws')}/v1/chat/ws`, { headers: { authorization: `Bearer ${await sign(key, owner)}` } });
    await new Promise((r) => sender.once('open', r));
    const total = RATE * SECONDS;
    const started = Date.now();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / RATE;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      sender.send(JSON.stringify({ type: 'send', room, clientId: `m${i}`, body: String(Date.now()) }));
    }
    await new Promise((r) => setTimeout(r, 3_000));
    const reports = await Promise.all(
      receivers.map(
        (c) =>
          new Promise<{ latencies: number[]; outOfOrder: number }>((resolve) => {
            createInterface({ input: c.stdout! }).on('line', (line) => {
              if (line.startsWith('REPORT ')) resolve(JSON.parse(line.slice(7)) as { latencies: number[]; outOfOrder: number });
            });
            c.stdin!.write('REPORT\n');
          }),
      ),
    );
    const latencies = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const expected = total * MEMBERS;
    console.log(
      `fan-out: ${MEMBERS} members on 2 instances, ${RATE} msg/s for ${SECONDS} s: ${latencies.length}/${expected} deliveries (${((latencies.length / (Date.now() - started)) * 1000).toFixed(0)}/s), out of order ${reports.reduce((n, r) => n + r.outOfOrder, 0)}; latency p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms, max ${latencies.at(-1)} ms (target p99 < 100 ms)`,
    );
    sender.close();
    closeClients(receivers);
  } finally {
    await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((r) => c.once('exit', r).kill())));
    await cleanup();
  }
}
