/**
 * Requests/s of a small JSON GET through the service kit (request id, server
 * span, RED histogram, zod-validated params, one info log line per request to
 * /dev/null through the kit's own buffered destination) against the same route
 * on bare Express 5 and on bare node:http. Each server runs in its own child
 * process pinned to CPU 0 and autocannon (this process) to CPU 1 where
 * `taskset` exists, so the load generator never steals the server's core.
 * Tune with BENCH_CONNECTIONS (10), BENCH_DURATION_S (5), BENCH_WARMUP_S (1)
 * and BENCH_ROUNDS (3; targets alternate each round, the median is reported).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
// @ts-expect-error autocannon ships no types and @types/autocannon is not installed
import autocannon from 'autocannon';

type Target = 'service-kit' | 'express' | 'node:http';
const TARGETS: readonly Target[] = ['service-kit', 'express', 'node:http'];
const PAYLOAD = { id: 'o-42', status: 'placed', items: [{ sku: 'sku-1', qty: 2 }] };

async function serve(target: Target): Promise<void> {
  let port: number;
  if (target === 'node:http') {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.startsWith('/orders/')) {
        const body = JSON.stringify(PAYLOAD);
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  } else if (target === 'express') {
    const { default: express } = await import('express');
    const app = express();
    app.get('/orders/:id', (_req, res) => {
      res.json(PAYLOAD);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as { port: number }).port;
  } else {
    const { z } = await import('zod');
    const kit = await import('@bulwark/service-kit');
    const Order = z.object({ id: z.string(), status: z.string(), items: z.array(z.object({ sku: z.string(), qty: z.number() })) });
    const service = kit.createService({
      name: 'bench',
      config: kit.loadConfig(kit.baseConfigSchema, { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: process.env.BENCH_KIT_LOG_LEVEL ?? 'info' }),
      logDestination: kit.createLogDestination('/dev/null'),
      routes(r) {
        r.get('/orders/:id', {
          summary: 'Get an order',
          params: z.object({ id: z.string() }),
          responses: { 200: Order },
          handler: ({ params }) => ({ status: 200, body: { ...PAYLOAD, id: params.id } }),
        });
      },
    });
    port = (await service.start()).port;
  }
  process.once('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
  process.stdout.write(`PORT ${port}\n`);
}

const pinning = spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0;

function startServer(target: Target): Promise<{ child: ChildProcess; url: string }> {
  const argv = [process.execPath, '--conditions=bulwark-source', fileURLToPath(import.meta.url)];
  const [cmd, ...args] = pinning ? ['taskset', '-c', '0', ...argv] : argv;
  const child = spawn(cmd!, args, { env: { ...process.env, BENCH_SERVER: target }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${target} server exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^PORT (\d+)$/.exec(line);
      if (match) resolve({ child, url: `http://127.0.0.1:${match[1]}/orders/o-42` });
    });
  });
}

interface Result {
  target: Target;
  rps: number;
  /** Server CPU time (user + system) per request, in microseconds: robust to other load on the machine. */
  cpuUs: number;
  p50: number;
  p99: number;
  errors: number;
}

async function measure(target: Target, connections: number, warmupS: number, durationS: number): Promise<Result> {
  const { child, url } = await startServer(target);
  try {
    if (warmupS > 0) await autocannon({ url, connections, duration: warmupS });
    const cpuBefore = cpuSeconds(child.pid!);
    const r = await autocannon({ url, connections, duration: durationS });
    const cpuUs = ((cpuSeconds(child.pid!) - cpuBefore) * 1e6) / r.requests.total;
    return { target, rps: r.requests.average, cpuUs, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
  } finally {
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
  }
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime + stime of a process, from /proc (fields 14 and 15 after the command name). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export default async function run(): Promise<void> {
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
  const durationS = Number(process.env.BENCH_DURATION_S ?? 5);
  const warmupS = Number(process.env.BENCH_WARMUP_S ?? 1);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  if (pinning) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  console.log(
    `service-kit bench: GET /orders/:id small JSON, ${connections} connections, ${warmupS}s warmup + ${durationS}s, ${rounds} rounds, ` +
      (pinning ? 'server on CPU 0, autocannon on CPU 1' : 'no taskset: server and load generator share CPUs'),
  );
  const results: Result[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse();
    for (const target of order) results.push(await measure(target, connections, warmupS, durationS));
  }
  const summary = TARGETS.map((target) => {
    const mine = results.filter((r) => r.target === target);
    return { target, rps: median(mine.map((r) => r.rps)), cpuUs: median(mine.map((r) => r.cpuUs)), p50: median(mine.map((r) => r.p50)), p99: median(mine.map((r) => r.p99)), errors: mine.reduce((n, r) => n + r.errors, 0) };
  });
  console.table(summary.map((r) => ({ server: r.target, 'req/s (median)': Math.round(r.rps), 'server CPU µs/req': Math.round(r.cpuUs * 10) / 10, 'p50 ms': r.p50, 'p99 ms': r.p99, errors: r.errors })));
  const rps = (t: Target) => summary.find((r) => r.target === t)!.rps;
  const vsExpress = rps('service-kit') / rps('express');
  const vsNode = rps('service-kit') / rps('node:http');
  console.log(`kit/express   = ${vsExpress.toFixed(3)} (kit costs ${((1 - vsExpress) * 100).toFixed(1)}% vs bare Express; target <= 15%)`);
  console.log(`kit/node:http = ${vsNode.toFixed(3)}`);
  const cpu = (t: Target) => summary.find((r) => r.target === t)!.cpuUs;
  console.log(`CPU per request: kit/express = ${(cpu('service-kit') / cpu('express')).toFixed(3)}, kit/node:http = ${(cpu('service-kit') / cpu('node:http')).toFixed(3)}`);
  console.log(`throughput implied by CPU per request: kit/express = ${(cpu('express') / cpu('service-kit')).toFixed(3)}`);
}

const serverTarget = process.env.BENCH_SERVER as Target | undefined;
if (serverTarget) await serve(serverTarget);
