/**
 * Gateway overhead. Targets, each in its own child process pinned to CPU 0
 * (autocannon in this process on CPU 1; the upstream on CPU 1 too):
 *   direct        — the upstream itself (node:http, small JSON): the baseline
 *   minimal       — a minimal undici proxy written here (node:http server, one
 *                   keep-alive Pool, dispatch handler writing into the response,
 *                   hop-by-hop headers dropped, nothing else): what any Node
 *                   proxy pays, the fair reference for the gateway's own cost
 *   proxy         — gateway, one route, no auth/limits, breaker off
 *   proxy+breaker — same with the opossum breaker on (breaker cost)
 *   full          — JWT (ES256, JWKS) + 3 rate-limit policies (real Redis) + breaker + proxy
 * Every round measures every target (order alternating per round); ratios are
 * computed per round and their median is reported, so drift on a shared
 * machine hits numerator and denominator alike. Warm-up is by request count
 * (V8 optimises after enough calls, not after enough seconds).
 * BENCH_CONNECTIONS (10), BENCH_DURATION_S (5), BENCH_WARMUP_REQUESTS (20000),
 * BENCH_ROUNDS (5), BENCH_TARGETS (comma list, default all).
 * Needs BULWARK_REDIS_URL or REDIS_URL for `full` (npm run infra).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';

type Target = 'direct' | 'minimal' | 'proxy' | 'proxy+breaker' | 'full';
const ALL_TARGETS: readonly Target[] = ['direct', 'minimal', 'proxy', 'proxy+breaker', 'full'];
const PAYLOAD = JSON.stringify({ id: 'o-42', status: 'placed', items: [{ sku: 'sku-1', qty: 2 }] });

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** The reference proxy: the least a Node proxy on undici does per request. */
async function serveMinimalProxy(upstreamUrl: string): Promise<number> {
  const { Pool } = await import('undici');
  const pool = new Pool(upstreamUrl, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
  const server = createServer((req, res) => {
    const headers: Record<string, string | string[]> = {};
    for (const name in req.headers) if (!HOP_BY_HOP.has(name) && name !== 'host') headers[name] = req.headers[name]!;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_controller, statusCode, upstreamHeaders) {
        const out: Record<string, string | string[]> = {};
        for (const name in upstreamHeaders) if (!HOP_BY_HOP.has(name)) out[name] = upstreamHeaders[name]!;
        res.writeHead(statusCode, out);
      },
      onResponseData(controller, chunk) {
        if (!res.write(chunk)) {
          controller.pause();
          res.once('drain', () => controller.resume());
        }
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError() {
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end();
      },
    };
    pool.dispatch({ path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers, body: null }, handler);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function serveGateway(target: 'proxy' | 'proxy+breaker' | 'full', upstreamUrl: string, jwksUrl: string): Promise<number> {
  const { createGateway } = await import('../apps/gateway/src/app.ts');
  const { loadGatewayConfig } = await import('../apps/gateway/src/config.ts');
  const { validateRoutesFile } = await import('../apps/gateway/src/domain/routes-file.ts');
  const { createLogDestination } = await import('@bulwark/service-kit');
  const full = target === 'full';
  const routes = validateRoutesFile({
    upstreams: { u: { url: upstreamUrl, breaker: { enabled: target !== 'proxy' } } },
    rateLimitPolicies: full
      ? [
          { name: 'per-tenant', algorithm: 'sliding-window', limit: 1e9, windowSeconds: 60 },
          { name: 'per-user', algorithm: 'token-bucket', limit: 1e9, windowSeconds: 60 },
          { name: 'per-ip', algorithm: 'fixed-window', limit: 1e9, windowSeconds: 60 },
        ]
      : [],
    routes: [
      {
        id: 'orders',
        match: { prefix: '/orders' },
        upstream: 'u',
        ...(full ? { auth: { required: true, roles: ['orders'] }, rateLimits: [{ policy: 'per-tenant', by: 'tenant' }, { policy: 'per-user', by: 'user' }, { policy: 'per-ip', by: 'ip' }] } : {}),
      },
    ],
  });
  const redisUrl = process.env.BULWARK_REDIS_URL ?? process.env.REDIS_URL;
  const config = loadGatewayConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', JWKS_URL: jwksUrl, RATE_LIMIT_PREFIX: `bench-${process.pid}`, ...(full && redisUrl ? { REDIS_URL: redisUrl } : {}) });
  const gateway = createGateway({ config, routes, logDestination: createLogDestination('/dev/null') });
  return (await gateway.start()).port;
}

async function serve(target: Target): Promise<void> {
  let port: number;
  if (target === 'direct') {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(PAYLOAD) });
      res.end(PAYLOAD);
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  } else if (target === 'minimal') {
    port = await serveMinimalProxy(process.env.BENCH_UPSTREAM!);
  } else {
    port = await serveGateway(target, process.env.BENCH_UPSTREAM!, process.env.BENCH_JWKS!);
  }
  process.once('SIGTERM', () => process.exit(0));
  process.stdout.write(`PORT ${port}\n`);
}

const pinning = spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0;

function startChild(target: Target, cpu: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const argv = [process.execPath, '--conditions=bulwark-source', fileURLToPath(import.meta.url)];
  const [cmd, ...args] = pinning ? ['taskset', '-c', cpu, ...argv] : argv;
  const child = spawn(cmd!, args, { env: { ...process.env, ...env, BENCH_SERVER: target }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${target} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line);
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}/orders/o-42` });
    });
  });
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Result { round: number; target: Target; rps: number; cpuUs: number; p50: number; p99: number; errors: number }

export default async function run(): Promise<void> {
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
  const durationS = Number(process.env.BENCH_DURATION_S ?? 5);
  const warmupRequests = Number(process.env.BENCH_WARMUP_REQUESTS ?? 20_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const targets = process.env.BENCH_TARGETS ? ALL_TARGETS.filter((t) => process.env.BENCH_TARGETS!.split(',').includes(t)) : ALL_TARGETS;
  if (pinning) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const { generateKeyPair, exportJWK, SignJWT } = await import('jose');
  const keys = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'bench', alg: 'ES256' };
  const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
  const token = await new SignJWT({ sub: 'bench-user', tenant: 'acme', roles: ['orders'] }).setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setExpirationTime('1h').sign(keys.privateKey);
  const upstream = await startChild('direct', '1', {});
  const env = { BENCH_UPSTREAM: new URL(upstream.url).origin, BENCH_JWKS: jwksUrl };
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`gateway bench: GET small JSON, ${connections} connections, ${warmupRequests} warm-up requests + ${durationS}s, ${rounds} rounds, load average ${load}, ${pinning ? 'servers on CPU 0, upstream + autocannon on CPU 1' : 'no taskset'}`);
  const results: Result[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        const server = target === 'direct' ? upstream : await startChild(target, '0', env);
        const opts = { url: server.url, connections, headers: target === 'full' ? { authorization: `Bearer ${token}` } : {} };
        try {
          if (warmupRequests > 0) await autocannon({ ...opts, amount: warmupRequests });
          const before = cpuSeconds(server.child.pid!);
          const r = await autocannon({ ...opts, duration: durationS });
          results.push({ round, target, rps: r.requests.average, cpuUs: ((cpuSeconds(server.child.pid!) - before) * 1e6) / r.requests.total, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx });
        } finally {
          if (server !== upstream) {
            server.child.removeAllListeners('exit');
            server.child.kill('SIGKILL');
          }
        }
      }
    }
  } finally {
    upstream.child.removeAllListeners('exit');
    upstream.child.kill('SIGKILL');
    jwks.close();
  }
  const summary = targets.map((target) => {
    const mine = results.filter((r) => r.target === target);
    return { target, rps: median(mine.map((r) => r.rps)), cpuUs: median(mine.map((r) => r.cpuUs)), p50: median(mine.map((r) => r.p50)), p99: median(mine.map((r) => r.p99)), errors: mine.reduce((n, r) => n + r.errors, 0) };
  });
  console.table(summary.map((r) => ({ target: r.target, 'req/s': Math.round(r.rps), 'CPU µs/req (server)': Math.round(r.cpuUs * 10) / 10, 'p50 ms': r.p50, 'p99 ms': r.p99, errors: r.errors })));
  /** Median over rounds of a per-round figure, with its range. */
  const perRound = (f: (of: (t: Target) => Result) => number): string => {
    const xs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const mine = results.filter((r) => r.round === round);
      const of = (t: Target): Result => mine.find((r) => r.target === t)!;
      xs.push(f(of));
    }
    return `${median(xs).toFixed(3)} (rounds ${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)})`;
  };
  const has = (...ts: Target[]): boolean => ts.every((t) => targets.includes(t));
  console.log('ratios: median of per-round ratios');
  if (has('proxy', 'direct')) console.log(`proxy/direct          = ${perRound((of) => of('proxy').rps / of('direct').rps)} (target >= 0.5); added p50 = ${perRound((of) => of('proxy').p50 - of('direct').p50)} ms (target <= 1)`);
  if (has('minimal', 'direct')) console.log(`minimal/direct        = ${perRound((of) => of('minimal').rps / of('direct').rps)} (the reference proxy itself)`);
  if (has('proxy', 'minimal')) console.log(`proxy/minimal         = ${perRound((of) => of('proxy').rps / of('minimal').rps)}; CPU/req ${perRound((of) => of('proxy').cpuUs / of('minimal').cpuUs)}×; added p50 vs minimal = ${perRound((of) => of('proxy').p50 - of('minimal').p50)} ms`);
  if (has('full', 'direct')) console.log(`full/direct           = ${perRound((of) => of('full').rps / of('direct').rps)} (target >= 0.35)`);
  if (has('full', 'minimal')) console.log(`full/minimal          = ${perRound((of) => of('full').rps / of('minimal').rps)}`);
  if (has('proxy', 'proxy+breaker')) console.log(`breaker cost          = ${perRound((of) => (1 - of('proxy+breaker').rps / of('proxy').rps) * 100)} % throughput, ${perRound((of) => (of('proxy+breaker').cpuUs / of('proxy').cpuUs - 1) * 100)} % CPU/req (target <= 5%)`);
}

const serverTarget = process.env.BENCH_SERVER as Target | undefined;
if (serverTarget) await serve(serverTarget);
