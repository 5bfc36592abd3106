/**
 * `npm run bench -- chat-heap`: where a chat connection's heap goes. One chat
 * instance (started with --heapsnapshot-signal), BENCH_WARMUP (100) idle
 * connections to warm code and pools, a heap snapshot, BENCH_CONNECTIONS
 * (2,000) more idle connections (clients in BENCH_CLIENT_PROCS processes, as
 * in bench/chat.ts), a second snapshot; prints the difference per connection
 * by object type and constructor (what a heap profiler's comparison view
 * shows), largest first. The same for the bare `ws` echo server of
 * bench/chat.ts, and the ratio: live memory, which RSS slopes (bench/chat.ts)
 * blur with garbage not yet collected and heap pages not yet returned. Snapshots force a full GC, so this is live memory.
 * Snapshots stay in BENCH_HEAP_DIR (default: a temporary directory, removed).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { waitFor } from '@bulwark/test-support';
import { closeClients, openClients, prepareChatBench, startBareWs, type Key } from './chat.ts';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 100);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 2_000);
const TOP = Number(process.env.BENCH_TOP ?? 30);

interface Row {
  count: number;
  bytes: number;
}

/** Self size and count by "type name" over every node of a .heapsnapshot. */
export function summarize(path: string): Map<string, Row> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, Row>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const name = type.endsWith('string') ? '' : type === 'code' ? '' : snap.strings[snap.nodes[i + nameAt]!]!.slice(0, 60);
    const key = `${type} ${name}`.trim();
    const row = out.get(key) ?? { count: 0, bytes: 0 };
    row.count++;
    row.bytes += snap.nodes[i + sizeAt]!;
    out.set(key, row);
  }
  return out;
}

async function snapshot(pid: number, probeUrl: string, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  let file = '';
  let size = -1;
  await waitFor(
    async () => {
      file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot')) ?? '';
      // Answered once the snapshot (written on the main thread) is done; the bare server answers 426.
      if (!file || !(await fetch(probeUrl).catch(() => undefined))) return false;
      const now = statSync(join(dir, file)).size;
      const stable = now === size && now > 0;
      size = now;
      return stable;
    },
    'heap snapshot written',
    300_000,
    500,
  );
  return join(dir, file);
}

type Diff = { perConnection: number; rows: [string, number, number][] };

/** Warm-up connections, a snapshot, CONNECTIONS more, a snapshot: the live heap they added, per connection and by type. */
async function measure(pid: number, probeUrl: string, wsUrl: string, dir: string, key: Key | undefined, clients: ChildProcess[]): Promise<Diff> {
  clients.push(...(await openClients(wsUrl, WARMUP, key, 'warm')));
  const a = summarize(await snapshot(pid, probeUrl, dir));
  clients.push(...(await openClients(wsUrl, CONNECTIONS, key, 'heap')));
  await new Promise((r) => setTimeout(r, 3_000));
  const b = summarize(await snapshot(pid, probeUrl, dir));
  const rows: [string, number, number][] = [];
  let total = 0;
  for (const [k, after] of b) {
    const before = a.get(k) ?? { count: 0, bytes: 0 };
    total += after.bytes - before.bytes;
    rows.push([k, (after.count - before.count) / CONNECTIONS, (after.bytes - before.bytes) / CONNECTIONS]);
  }
  for (const [k, before] of a) if (!b.has(k)) total -= before.bytes;
  rows.sort((x, y) => y[2] - x[2]);
  closeClients(clients.splice(0));
  return { perConnection: total / CONNECTIONS, rows };
}

const print = (name: string, diff: Diff, top: number) => {
  console.log(`${name}: live heap per idle connection (after GC) ${diff.perConnection.toFixed(0)} B, ${CONNECTIONS} connections over ${WARMUP} warm ones`);
  for (const [k, count, bytes] of diff.rows.slice(0, top)) console.log(`${bytes.toFixed(0).padStart(7)} B ${count.toFixed(2).padStart(6)} objects  ${k}`);
};

export default async function bench(): Promise<void> {
  const dir = process.env.BENCH_HEAP_DIR ?? mkdtempSync(join(tmpdir(), 'chat-heap-'));
  const { key, startChat, cleanup } = await prepareChatBench();
  const clients: ChildProcess[] = [];
  const servers: ChildProcess[] = [];
  try {
    const bare = await startBareWs({ execArgv: ['--heapsnapshot-signal=SIGUSR2'], cwd: dir });
    servers.push(bare.child);
    const bareDiff = await measure(bare.child.pid!, `http://127.0.0.1:${bare.port}/`, `ws://127.0.0.1:${bare.port}`, dir, undefined, clients);
    const chat = await startChat({ execArgv: ['--heapsnapshot-signal=SIGUSR2'], cwd: dir });
    servers.push(chat.child);
    const chatDiff = await measure(chat.child.pid!, `${chat.url}/readyz`, `${chat.url.replace('http', 'ws')}/v1/chat/ws`, dir, key, clients);
    print('bare ws echo', bareDiff, 10);
    print('chat', chatDiff, TOP);
    console.log(`live heap per connection chat / bare ws: ${(chatDiff.perConnection / bareDiff.perConnection).toFixed(2)}×`);
  } finally {
    closeClients(clients);
    await Promise.all(servers.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((r) => c.once('exit', r).kill())));
    await cleanup();
    if (!process.env.BENCH_HEAP_DIR) rmSync(dir, { recursive: true, force: true });
  }
}
