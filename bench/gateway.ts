/**
 * Gateway overhead. Targets, each in its own child process pinned to CPU 0
 * (autocannon in this process on CPU 1; the upstream on CPU 1 too):
 *   direct        — the upstream itself (node:http, small JSON): the issue's baseline
 *   minimal       — a minimal undici proxy written here (node:http server, one
 *                   keep-alive Pool, dispatch handler writing into the response,
 *                   hop-by-hop headers dropped, nothing else): what any Node
 *                   proxy pays, the fair reference for the gateway's own cost
 *   proxy         — gateway, one route, no auth/limits, breaker off
 *   proxy+breaker — same with the opossum breaker on (breaker cost)
 *   full          — JWT (ES256, JWKS) + 3 rate-limit policies (real Redis) + breaker + proxy
 *   full+lease    — the same with the three policies leased (lease.units = BENCH_LEASE_UNITS, 50):
 *                   most checks served from units this instance took ahead
 *   peer          — a peer gateway built from the shelf (fastify, @fastify/http-proxy, jose JWT
 *                   verification, @fastify/rate-limit on the same Redis with the same three
 *                   policies; bench/lib/gateway-peers.ts): the reference for `full`
 *   peer+cache    — the same peer keeping verified tokens in a Map, as the gateway
 *                   keeps them (context: how much of full/peer is the token cache)
 *   nginx         — Debian's nginx as a reverse proxy, one worker (context; skipped when
 *                   nginx is not installed: apt-get install -y nginx-light)
 * Targets (docs/PERFORMANCE.md): proxy/minimal >= 0.85, full/peer >= 1.5.
 * Every round measures every target (order alternating per round); ratios are
 * computed per round and their median is reported, so drift on a shared
 * machine hits numerator and denominator alike. Warm-up is by request count
 * (V8 optimises after enough calls, not after enough seconds).
 * Breaker cost is also measured in-process (a child on CPU 0): the same
 * Upstream call (undici dispatch to the upstream, body drained) through an
 * Upstream with the opossum breaker and through one without, 10 in flight,
 * in alternating blocks; the figure is CPU µs per call from
 * process.cpuUsage, median over blocks of the wrapped/unwrapped ratio. The
 * end-to-end proxy vs proxy+breaker difference (~1 µs in ~60) is below what
 * the box's noise lets autocannon resolve; this one isolates it.
 * BENCH_RATE (req/s offered in each measured run, autocannon's overallRate;
 * 0, the default, is as fast as each target answers): at one rate every
 * target is measured at the same throughput, so CPU per request does not
 * move with what share of a crowded CPU a target happened to get (a
 * starved process pays more per request: fewer requests per wake-up).
 * BENCH_CONNECTIONS (10), BENCH_DURATION_S (5), BENCH_WARMUP_REQUESTS (20000),
 * BENCH_ROUNDS (5), BENCH_TARGETS (comma list, default all),
 * BENCH_BREAKER_BLOCKS (40 blocks of 2000 calls per variant; 0 skips it),
 * BENCH_BREAKER_PAIRS (30; 0 skips it): the breaker end to end in ONE gateway
 * process (CPU 0) with two routes to the same upstream, `/w/...` through an
 * Upstream with the breaker and `/p/...` through one without; autocannon
 * alternates blocks of BENCH_PAIR_REQUESTS (10 000) requests between them
 * (order alternating per pair) and the process's CPU per request is read
 * from /proc around each block. Same process, same JIT state and heap,
 * adjacent blocks: the paired ratio cancels the drift that separate
 * processes per round cannot. Reported: median of the per-pair ratios with
 * a distribution-free 95% confidence interval of that median.

 * BENCH_BEFORE_ROOT (a checkout of an earlier commit with its own
 * node_modules/@bulwark links: adds `proxy-before` and `full-before`, the
 * same targets built from that tree, for a before/after in one run).
 * BENCH_SERVER_NODE_ARGS (extra node flags for the target processes, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`; targets then stop with SIGTERM so
 * the profile is written).
 * Redis for `full` and `peer`: a private redis-server the bench starts,
 * pinned by BENCH_REDIS_CPU (default 0: on the target's CPU). The rate
 * limiter's Redis work is part of the system under test, and the two
 * limiters put different work there (the gateway one script doing three
 * policies atomically, the peer three small scripts), so each target pays
 * for its own Redis work on its own CPU, and CPU 1 carries only what is the
 * same for every target (autocannon, the upstream). With Redis on CPU 1
 * (BENCH_REDIS_CPU=1, the harness before 2026-12-08) a target's Redis work
 * competed with the load generator, and req/s measured that CPU rather than
 * the gateways. Printed beside req/s: CPU µs per request of the target, its
 * Redis, the upstream and the load generator (this process), and the
 * full/peer ratio at equal CPU ((peer + its Redis) / (full + its Redis) µs
 * per request), which a loaded shared box does not move as it moves req/s.
 * BENCH_REDIS=shared uses BULWARK_REDIS_URL or REDIS_URL (npm run infra)
 * instead, as does a machine without taskset.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { portOf, startBenchIssuer, startPrivateRedis } from './lib/gateway-fixtures.ts';
import { servePeerGateway, startNginx } from './lib/gateway-peers.ts';
import { preciseCpuSecondsOf } from './lib/proc-cpu.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';

type Target = 'direct' | 'minimal' | 'proxy' | 'proxy+breaker' | 'full' | 'full+lease' | 'peer' | 'peer+cache' | 'nginx' | 'proxy-before' | 'full-before';
const hasNginx = spawnSync('sh', ['-c', 'command -v nginx'], { stdio: 'ignore' }).status === 0;
const ALL_TARGETS: readonly Target[] = [
  'direct', 'minimal', 'proxy', 'proxy+breaker', 'full', 'full+lease', 'peer', 'peer+cache',
  ...(hasNginx ? (['nginx'] as const) : []),
  ...(process.env.BENCH_BEFORE_ROOT ? (['proxy-before', 'full-before'] as const) : []),
];
/** Targets that need the bearer token (and so the issuer and Redis). */
const authenticated = (target: Target): boolean => target.startsWith('full') || target.startsWith('peer');
/** Lease size of the full+lease target's three policies (units per instance per grant). */
const LEASE_UNITS = Number(process.env.BENCH_LEASE_UNITS ?? 50);
/** CPU of the private Redis (see the header): the targets' CPU by default. */
const REDIS_CPU = process.env.BENCH_REDIS_CPU ?? '0';
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

async function serveGateway(target: 'proxy' | 'proxy+breaker' | 'full' | 'full+lease', upstreamUrl: string, jwksUrl: string, root = new URL('..', import.meta.url).href): Promise<number> {
  const { createGateway } = (await import(new URL('apps/gateway/src/app.ts', root).href)) as typeof import('../apps/gateway/src/app.ts');
  const { loadGatewayConfig } = (await import(new URL('apps/gateway/src/config.ts', root).href)) as typeof import('../apps/gateway/src/config.ts');
  const { validateRoutesFile } = (await import(new URL('apps/gateway/src/domain/routes-file.ts', root).href)) as typeof import('../apps/gateway/src/domain/routes-file.ts');
  const { createLogDestination } = await import('@bulwark/service-kit');
  const full = target === 'full' || target === 'full+lease';
  const lease = target === 'full+lease' ? { lease: { units: LEASE_UNITS } } : {};
  const routes = validateRoutesFile({
    upstreams: { u: { url: upstreamUrl, breaker: { enabled: target !== 'proxy' } } },
    rateLimitPolicies: full
      ? [
          { name: 'per-tenant', algorithm: 'sliding-window', limit: 1e9, windowSeconds: 60, ...lease },
          { name: 'per-user', algorithm: 'token-bucket', limit: 1e9, windowSeconds: 60, ...lease },
          { name: 'per-ip', algorithm: 'fixed-window', limit: 1e9, windowSeconds: 60, ...lease },
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
  const config = loadGatewayConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', JWKS_URL: jwksUrl, RATE_LIMIT_PREFIX: `bench-${process.pid}`, ...(full && redisUrl ? { REDIS_URL: redisUrl } : {}), ...(process.env.BENCH_RATE_LIMIT_TIMEOUT_MS ? { RATE_LIMIT_TIMEOUT_MS: process.env.BENCH_RATE_LIMIT_TIMEOUT_MS } : {}) });
  const gateway = createGateway({ config, routes, logDestination: createLogDestination('/dev/null') });
  return (await gateway.start()).port;
}

/** One gateway, two routes to the same upstream: /w through the breaker, /p without. */
async function servePair(upstreamUrl: string): Promise<number> {
  const { createGateway } = await import('../apps/gateway/src/app.ts');
  const { loadGatewayConfig } = await import('../apps/gateway/src/config.ts');
  const { validateRoutesFile } = await import('../apps/gateway/src/domain/routes-file.ts');
  const { createLogDestination } = await import('@bulwark/service-kit');
  const routes = validateRoutesFile({
    upstreams: { wrapped: { url: upstreamUrl, breaker: { enabled: true } }, plain: { url: upstreamUrl, breaker: { enabled: false } } },
    routes: [
      { id: 'wrapped', match: { prefix: '/w' }, upstream: 'wrapped', rewrite: { stripPrefix: true } },
      { id: 'plain', match: { prefix: '/p' }, upstream: 'plain', rewrite: { stripPrefix: true } },
    ],
  });
  const config = loadGatewayConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
  const gateway = createGateway({ config, routes, logDestination: createLogDestination('/dev/null') });
  return (await gateway.start()).port;
}

async function serve(target: Target | 'pair'): Promise<void> {
  let port: number;
  if (target === 'pair') {
    port = await servePair(process.env.BENCH_UPSTREAM!);
  } else if (target === 'direct') {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(PAYLOAD) });
      res.end(PAYLOAD);
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  } else if (target === 'minimal') {
    port = await serveMinimalProxy(process.env.BENCH_UPSTREAM!);
  } else if (target === 'peer' || target === 'peer+cache') {
    port = await servePeerGateway(process.env.BENCH_UPSTREAM!, process.env.BENCH_JWKS!, process.env.BULWARK_REDIS_URL!, { tokenCache: target === 'peer+cache' });
  } else if (target === 'nginx') {
    throw new Error('nginx is started by startChild, not served from node');
  } else if (target === 'proxy-before' || target === 'full-before') {
    const root = new URL(`${process.env.BENCH_BEFORE_ROOT!.replace(/\/$/, '')}/`, 'file:///').href;
    port = await serveGateway(target === 'proxy-before' ? 'proxy' : 'full', process.env.BENCH_UPSTREAM!, process.env.BENCH_JWKS!, root);
  } else {
    port = await serveGateway(target, process.env.BENCH_UPSTREAM!, process.env.BENCH_JWKS!);
  }
  process.once('SIGTERM', () => process.exit(0));
  process.stdout.write(`PORT ${port}\n`);
}

/**
 * In-process breaker cost: the same upstream call through two Upstreams, one
 * with the breaker and one without, in alternating blocks; prints one JSON
 * line per block.
 */
async function measureBreaker(upstreamUrl: string, blocks: number, callsPerBlock: number): Promise<void> {
  const { Upstream, createGatewayMetrics } = await import('../apps/gateway/src/upstreams/upstream.ts');
  const { validateRoutesFile } = await import('../apps/gateway/src/domain/routes-file.ts');
  const { Registry } = await import('prom-client');
  const { default: pino } = await import('pino');
  const file = validateRoutesFile({
    upstreams: { plain: { url: upstreamUrl, breaker: { enabled: false } }, wrapped: { url: upstreamUrl, breaker: { enabled: true } } },
    routes: [{ id: 'r', match: { prefix: '/' }, upstream: 'plain' }],
  });
  const upstreams: InstanceType<typeof Upstream>[] = [];
  const metrics = createGatewayMetrics(new Registry(), () => upstreams);
  const log = pino({ level: 'silent' });
  const plain = new Upstream('plain', file.upstreams.plain!, log, metrics);
  const wrapped = new Upstream('wrapped', file.upstreams.wrapped!, log, metrics);
  upstreams.push(plain, wrapped);
  const options: Dispatcher.DispatchOptions = { path: '/orders/o-42', method: 'GET', headers: { accept: 'application/json' }, body: null };
  /** One call as the gateway makes it: dispatch, settle on the head, drain the body. */
  const call = (u: InstanceType<typeof Upstream>): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = new Promise<void>((resolveDone) => {
        u.pool.dispatch(options, {
          onRequestStart() {},
          onResponseStart(_c, status) {
            settled = true;
            if (status >= 500) reject(new Error(String(status)));
          },
          onResponseData() {},
          onResponseEnd() {
            resolveDone();
          },
          onResponseError(_c, err) {
            if (!settled) reject(err);
            resolveDone();
          },
        });
      });
      void done.then(() => resolve());
    });
  const runBlock = async (u: InstanceType<typeof Upstream>, n: number): Promise<{ cpuUs: number; rps: number }> => {
    let left = n;
    const worker = async (): Promise<void> => {
      while (left-- > 0) await u.send(() => call(u));
    };
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 10 }, worker));
    const wallS = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(cpu);
    return { cpuUs: (used.user + used.system) / n, rps: n / wallS };
  };
  // The wrapping alone: send() around an attempt that is already settled, so
  // the difference is the breaker's own CPU per call, free of network noise.
  const settled = (): Promise<void> => Promise.resolve();
  const overheadBlock = async (u: InstanceType<typeof Upstream>, n: number): Promise<number> => {
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) await u.send(settled);
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / n;
  };
  for (let i = 0; i < 5; i++) for (const u of [plain, wrapped]) await overheadBlock(u, 50_000);
  for (let block = 0; block < 20; block++) {
    const order = block % 2 === 0 ? [plain, wrapped] : [wrapped, plain];
    const out: Record<string, number> = {};
    for (const u of order) out[u.name] = await overheadBlock(u, 50_000);
    process.stdout.write(`OVERHEAD ${JSON.stringify({ plain: out.plain, wrapped: out.wrapped })}\n`);
  }
  for (let i = 0; i < 10; i++) for (const u of [plain, wrapped]) await runBlock(u, callsPerBlock); // warm-up
  for (let block = 0; block < blocks; block++) {
    const order = block % 2 === 0 ? [plain, wrapped] : [wrapped, plain];
    const out: Record<string, { cpuUs: number; rps: number }> = {};
    for (const u of order) out[u.name] = await runBlock(u, callsPerBlock);
    process.stdout.write(`BREAKER ${JSON.stringify({ block, plain: out.plain, wrapped: out.wrapped })}\n`);
  }
  await Promise.all(upstreams.map((u) => u.close()));
}

const pinning = spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0;

const serverNodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Stops a target: SIGKILL, or SIGTERM (and waits) when node flags such as --cpu-prof must finish writing. */
async function stopChild(child: ChildProcess): Promise<void> {
  child.removeAllListeners('exit');
  if (serverNodeArgs.length === 0) {
    child.kill('SIGKILL');
    return;
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function startChild(target: Target | 'pair', cpu: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  if (target === 'nginx') return startNginx(env.BENCH_UPSTREAM!, pinning ? cpu : undefined).then(({ child, port }) => ({ child, url: `http://127.0.0.1:${port}/orders/o-42` }));
  const argv = [process.execPath, '--conditions=bulwark-source', ...(target === 'direct' ? [] : serverNodeArgs), fileURLToPath(import.meta.url)];
  const [cmd, ...args] = pinning ? ['taskset', '-c', cpu, ...argv] : argv;
  const child = spawn(cmd!, args, { env: { ...process.env, ...env, BENCH_SERVER: target }, stdio: ['ignore', 'pipe', 'inherit'] });
  return portOf(child, target).then((port) => ({ child, url: `http://127.0.0.1:${port}/orders/o-42` }));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const quartiles = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
  return `${at(0.25).toFixed(1)}…${at(0.75).toFixed(1)}`;
};

/** CPU µs per send() around an already-settled attempt, per block: the breaker's own cost per call. */
const breakerOverhead: { plain: number; wrapped: number }[] = [];

interface BreakerBlock { block: number; plain: { cpuUs: number; rps: number }; wrapped: { cpuUs: number; rps: number } }

/** Runs measureBreaker in a child on CPU 0 and collects its blocks. */
function runBreakerChild(upstreamOrigin: string, blocks: number): Promise<BreakerBlock[]> {
  const argv = [process.execPath, '--conditions=bulwark-source', fileURLToPath(import.meta.url)];
  const [cmd, ...args] = pinning ? ['taskset', '-c', '0', ...argv] : argv;
  const child = spawn(cmd!, args, { env: { ...process.env, BENCH_SERVER: 'breaker', BENCH_UPSTREAM: upstreamOrigin, BENCH_BREAKER_BLOCKS: String(blocks) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const out: BreakerBlock[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('BREAKER ')) out.push(JSON.parse(line.slice(8)) as BreakerBlock);
    if (line.startsWith('OVERHEAD ')) breakerOverhead.push(JSON.parse(line.slice(9)) as { plain: number; wrapped: number });
  });
  return new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`breaker measurement exited with ${code}`)))));
}

interface Pair { wrapped: { cpuUs: number; rps: number }; plain: { cpuUs: number; rps: number } }

/** The paired end-to-end breaker measurement (see BENCH_BREAKER_PAIRS). */
async function measureBreakerPairs(env: Record<string, string>, pairs: number, requests: number, connections: number, warmup: number): Promise<Pair[]> {
  const server = await startChild('pair', '0', env);
  const origin = new URL(server.url).origin;
  const urls = { wrapped: `${origin}/w/orders/o-42`, plain: `${origin}/p/orders/o-42` };
  const out: Pair[] = [];
  try {
    for (const url of [urls.wrapped, urls.plain]) if (warmup > 0) await autocannon({ url, connections, amount: warmup });
    for (let i = 0; i < pairs; i++) {
      const pair: Partial<Pair> = {};
      for (const variant of i % 2 === 0 ? (['wrapped', 'plain'] as const) : (['plain', 'wrapped'] as const)) {
        const before = preciseCpuSecondsOf(server.child.pid!);
        const started = performance.now();
        const r = await autocannon({ url: urls[variant], connections, amount: requests });
        const seconds = (performance.now() - started) / 1000;
        if (r.errors + r.non2xx > 0) console.log(`breaker pair ${i} ${variant}: ${r.errors} errors, status codes ${JSON.stringify(r.statusCodeStats)}`);
        pair[variant] = { cpuUs: ((preciseCpuSecondsOf(server.child.pid!) - before) * 1e6) / r.requests.total, rps: r.requests.total / seconds };
      }
      out.push(pair as Pair);
    }
  } finally {
    await stopChild(server.child);
  }
  return out;
}

/**
 * Mean of the per-pair log ratios with the most extreme 10% on each side
 * trimmed (a block that caught a major GC or a noisy neighbour weighs no
 * more than a typical one), as a percentage, with a 95% percentile-bootstrap
 * interval (2000 resamples of the pairs, fixed seed).
 */
function trimmedLogRatioWithCi(ratios: number[]): { estimate: number; low: number; high: number } {
  const trimmedMean = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const cut = Math.floor(s.length * 0.1);
    const kept = s.slice(cut, s.length - cut);
    return kept.reduce((a, b) => a + b, 0) / kept.length;
  };
  const logs = ratios.map((r) => Math.log(r));
  let seed = 0x2545f491;
  const random = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const boots: number[] = [];
  for (let b = 0; b < 2000; b++) boots.push(trimmedMean(logs.map(() => logs[Math.floor(random() * logs.length)]!)));
  boots.sort((a, b) => a - b);
  const pct = (x: number): number => (Math.exp(x) - 1) * 100;
  return { estimate: pct(trimmedMean(logs)), low: pct(boots[Math.floor(boots.length * 0.025)]!), high: pct(boots[Math.ceil(boots.length * 0.975) - 1]!) };
}

/** Median with a distribution-free 95% confidence interval (order statistics, normal approximation of the binomial). */
function medianWithCi(xs: number[]): { median: number; low: number; high: number } {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const half = 1.96 * Math.sqrt(n) / 2;
  return { median: median(s), low: s[Math.max(0, Math.floor(n / 2 - half))]!, high: s[Math.min(n - 1, Math.ceil(n / 2 + half) - 1)]! };
}

/** One target in one round; `redisUs`, `upstreamUs`, `loadUs`: CPU µs per request of the private Redis, the upstream and the load generator (this process, autocannon). */
interface Result { round: number; target: Target; rps: number; cpuUs: number; redisUs: number; upstreamUs: number; loadUs: number; p50: number; p99: number; errors: number }

export default async function run(): Promise<void> {
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
  const durationS = Number(process.env.BENCH_DURATION_S ?? 5);
  const offeredRate = Number(process.env.BENCH_RATE ?? 0);
  const warmupRequests = Number(process.env.BENCH_WARMUP_REQUESTS ?? 20_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const breakerBlocks = Number(process.env.BENCH_BREAKER_BLOCKS ?? 40);
  const breakerBlocksOut: BreakerBlock[] = [];
  const breakerPairs = Number(process.env.BENCH_BREAKER_PAIRS ?? 30);
  const pairRequests = Number(process.env.BENCH_PAIR_REQUESTS ?? 10_000);
  const pairsOut: Pair[] = [];
  const targets = process.env.BENCH_TARGETS ? ALL_TARGETS.filter((t) => process.env.BENCH_TARGETS!.split(',').includes(t)) : ALL_TARGETS;
  if (pinning) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const issuer = await startBenchIssuer();
  const { jwksUrl, token } = issuer;
  const upstream = await startChild('direct', '1', {});
  const privateRedis = pinning && process.env.BENCH_REDIS !== 'shared' && targets.some(authenticated) ? await startPrivateRedis(REDIS_CPU) : undefined;
  const redisUrl = privateRedis?.url ?? process.env.BULWARK_REDIS_URL ?? process.env.REDIS_URL ?? '';
  const env = { BENCH_UPSTREAM: new URL(upstream.url).origin, BENCH_JWKS: jwksUrl, BULWARK_REDIS_URL: redisUrl };
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`gateway bench: GET small JSON, ${connections} connections, ${process.env.BENCH_FRESH_SERVERS === '1' ? `fresh servers per round, ${warmupRequests} warm-up requests` : `persistent servers, ${warmupRequests} warm-up requests once + ${process.env.BENCH_ROUND_WARMUP_REQUESTS ?? 2000} per round`} + ${durationS}s${offeredRate > 0 ? ` at ${offeredRate} req/s offered` : ''}, ${rounds} rounds, load average ${load}, ${pinning ? 'servers on CPU 0, upstream + autocannon on CPU 1' : 'no taskset'}; Redis: ${privateRedis ? `private, CPU ${REDIS_CPU}` : redisUrl || 'none'}`);
  const results: Result[] = [];
  // Persistent servers (default): every target starts and warms up once, then
  // each round re-warms it briefly and measures it; BENCH_FRESH_SERVERS=1
  // starts a new process per target and round instead.
  const fresh = process.env.BENCH_FRESH_SERVERS === '1';
  const roundWarmup = fresh ? warmupRequests : Number(process.env.BENCH_ROUND_WARMUP_REQUESTS ?? 2000);
  const running = new Map<Target, { child: ChildProcess; url: string }>();
  const optsFor = (target: Target, url: string) => ({ url, connections, headers: authenticated(target) ? { authorization: `Bearer ${token}` } : {} });
  try {
    if (!fresh) {
      for (const target of targets) {
        const server = target === 'direct' ? upstream : await startChild(target, '0', env);
        running.set(target, server);
        if (warmupRequests > 0) await autocannon({ ...optsFor(target, server.url), amount: warmupRequests });
      }
    }
    for (let round = 0; round < rounds; round++) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        const server = running.get(target) ?? (target === 'direct' ? upstream : await startChild(target, '0', env));
        const opts = optsFor(target, server.url);
        try {
          if (roundWarmup > 0) await autocannon({ ...opts, amount: roundWarmup });
          const before = preciseCpuSecondsOf(server.child.pid!);
          const redisBefore = privateRedis ? preciseCpuSecondsOf(privateRedis.pid) : 0;
          const upstreamBefore = preciseCpuSecondsOf(upstream.child.pid!);
          const generatorBefore = process.cpuUsage();
          const r = await autocannon({ ...opts, duration: durationS, ...(offeredRate > 0 ? { overallRate: offeredRate } : {}) });
          const generator = process.cpuUsage(generatorBefore);
          if (r.errors + r.non2xx > 0) console.log(`${target} round ${round}: ${r.errors} errors, status codes ${JSON.stringify(r.statusCodeStats)}`);
          const perRequest = (seconds: number): number => (seconds * 1e6) / r.requests.total;
          results.push({
            round,
            target,
            rps: r.requests.average,
            cpuUs: perRequest(preciseCpuSecondsOf(server.child.pid!) - before),
            redisUs: privateRedis ? perRequest(preciseCpuSecondsOf(privateRedis.pid) - redisBefore) : NaN,
            upstreamUs: perRequest(preciseCpuSecondsOf(upstream.child.pid!) - upstreamBefore),
            loadUs: perRequest((generator.user + generator.system) / 1e6),
            p50: r.latency.p50,
            p99: r.latency.p99,
            errors: r.errors + r.non2xx,
          });
        } finally {
          if (fresh && server !== upstream) await stopChild(server.child);
        }
      }
    }
    for (const [target, server] of running) if (target !== 'direct') await stopChild(server.child);
    running.clear();
    if (breakerPairs > 0) pairsOut.push(...(await measureBreakerPairs(env, breakerPairs, pairRequests, connections, warmupRequests)));
    if (breakerBlocks > 0) breakerBlocksOut.push(...(await runBreakerChild(env.BENCH_UPSTREAM, breakerBlocks)));
  } finally {
    for (const [target, server] of running) if (target !== 'direct') await stopChild(server.child);
    upstream.child.removeAllListeners('exit');
    upstream.child.kill('SIGKILL');
    privateRedis?.stop();
    issuer.close();
  }
  const summary = targets.map((target) => {
    const mine = results.filter((r) => r.target === target);
    return { target, rps: median(mine.map((r) => r.rps)), cpuUs: median(mine.map((r) => r.cpuUs)), redisUs: median(mine.map((r) => r.redisUs)), upstreamUs: median(mine.map((r) => r.upstreamUs)), loadUs: median(mine.map((r) => r.loadUs)), p50: median(mine.map((r) => r.p50)), p99: median(mine.map((r) => r.p99)), errors: mine.reduce((n, r) => n + r.errors, 0) };
  });
  const tenth = (x: number): number | string => (Number.isNaN(x) ? '' : Math.round(x * 10) / 10);
  // The upstream shares CPU 1 with autocannon (and Redis when BENCH_REDIS_CPU=1): when a
  // target's req/s ratio lags its CPU ratio, their cost per request is where the time went.
  console.table(summary.map((r) => ({ target: r.target, 'req/s': Math.round(r.rps), 'CPU µs/req (server)': tenth(r.cpuUs), 'Redis µs/req': authenticated(r.target) ? tenth(r.redisUs) : '', 'upstream µs/req': tenth(r.upstreamUs), 'autocannon µs/req': tenth(r.loadUs), 'p50 ms': r.p50, 'p99 ms': r.p99, errors: r.errors })));
  /** Median over rounds of a per-round figure, with its range. */
  const perRound = (f: (of: (t: Target) => Result) => number): string => {
    const xs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const mine = results.filter((r) => r.round === round);
      const of = (t: Target): Result => mine.find((r) => r.target === t)!;
      xs.push(f(of));
    }
    const ci = xs.length >= 6 ? medianWithCi(xs) : undefined;
    return `${median(xs).toFixed(3)} (rounds ${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}${ci ? `; 95% CI of the median ${ci.low.toFixed(3)}–${ci.high.toFixed(3)}` : ''})`;
  };
  const has = (...ts: Target[]): boolean => ts.every((t) => targets.includes(t));
  console.log('ratios: median of per-round ratios');
  if (has('proxy', 'direct')) console.log(`proxy/direct          = ${perRound((of) => of('proxy').rps / of('direct').rps)}; added p50 = ${perRound((of) => of('proxy').p50 - of('direct').p50)} ms (target <= 1)`);
  if (has('minimal', 'direct')) console.log(`minimal/direct        = ${perRound((of) => of('minimal').rps / of('direct').rps)} (the reference proxy itself)`);
  if (has('proxy', 'minimal')) console.log(`proxy/minimal         = ${perRound((of) => of('proxy').rps / of('minimal').rps)} (target >= 0.85); CPU/req ${perRound((of) => of('proxy').cpuUs / of('minimal').cpuUs)}×; added p50 vs minimal = ${perRound((of) => of('proxy').p50 - of('minimal').p50)} ms`);
  if (has('full', 'direct')) console.log(`full/direct           = ${perRound((of) => of('full').rps / of('direct').rps)}`);
  if (has('full+lease', 'direct')) console.log(`full+lease/direct     = ${perRound((of) => of('full+lease').rps / of('direct').rps)} (the three policies with lease.units=${LEASE_UNITS})`);
  if (has('full', 'peer')) console.log(`full/peer             = ${perRound((of) => of('full').rps / of('peer').rps)} (target >= 1.5); CPU/req ${perRound((of) => of('full').cpuUs / of('peer').cpuUs)}×`);
  if (has('full', 'peer') && privateRedis) console.log(`full/peer at equal CPU = ${perRound((of) => (of('peer').cpuUs + of('peer').redisUs) / (of('full').cpuUs + of('full').redisUs))} (target + its Redis, µs per request, peer ÷ full)`);
  if (has('full', 'peer+cache')) console.log(`full/peer+cache       = ${perRound((of) => of('full').rps / of('peer+cache').rps)} (context); CPU/req ${perRound((of) => of('full').cpuUs / of('peer+cache').cpuUs)}×`);
  if (has('full', 'peer+cache') && privateRedis) console.log(`full/peer+cache at equal CPU = ${perRound((of) => (of('peer+cache').cpuUs + of('peer+cache').redisUs) / (of('full').cpuUs + of('full').redisUs))}`);
  if (has('full+lease', 'peer')) console.log(`full+lease/peer       = ${perRound((of) => of('full+lease').rps / of('peer').rps)}`);
  if (has('full+lease', 'peer') && privateRedis) console.log(`full+lease/peer at equal CPU = ${perRound((of) => (of('peer').cpuUs + of('peer').redisUs) / (of('full+lease').cpuUs + of('full+lease').redisUs))}`);
  if (has('peer', 'direct')) console.log(`peer/direct           = ${perRound((of) => of('peer').rps / of('direct').rps)} (the peer gateway itself)`);
  if (has('nginx', 'direct')) console.log(`nginx/direct          = ${perRound((of) => of('nginx').rps / of('direct').rps)} (context)`);
  if (has('proxy', 'nginx')) console.log(`proxy/nginx           = ${perRound((of) => of('proxy').rps / of('nginx').rps)}; CPU/req ${perRound((of) => of('proxy').cpuUs / of('nginx').cpuUs)}× (context)`);
  if (has('minimal', 'nginx')) console.log(`minimal/nginx         = ${perRound((of) => of('minimal').rps / of('nginx').rps)} (context)`);
  if (has('full+lease', 'full')) console.log(`full+lease/full       = ${perRound((of) => of('full+lease').rps / of('full').rps)}× req/s; CPU/req ${perRound((of) => of('full+lease').cpuUs / of('full').cpuUs)}×`);
  if (has('full', 'minimal')) console.log(`full/minimal          = ${perRound((of) => of('full').rps / of('minimal').rps)}`);
  if (has('proxy-before', 'proxy')) console.log(`proxy before → after  = ${perRound((of) => of('proxy').rps / of('proxy-before').rps)}× req/s; CPU/req ${perRound((of) => of('proxy').cpuUs / of('proxy-before').cpuUs)}×`);
  if (has('full-before', 'full')) console.log(`full before → after   = ${perRound((of) => of('full').rps / of('full-before').rps)}× req/s; CPU/req ${perRound((of) => of('full').cpuUs / of('full-before').cpuUs)}×`);
  if (has('proxy-before', 'direct')) console.log(`proxy-before/direct   = ${perRound((of) => of('proxy-before').rps / of('direct').rps)}`);
  if (has('full-before', 'direct')) console.log(`full-before/direct    = ${perRound((of) => of('full-before').rps / of('direct').rps)}`);
  if (pairsOut.length > 0 && process.env.BENCH_PAIRS_JSON) writeFileSync(process.env.BENCH_PAIRS_JSON, JSON.stringify(pairsOut));
  if (pairsOut.length > 0) {
    const cpu = medianWithCi(pairsOut.map((p) => (p.wrapped.cpuUs / p.plain.cpuUs - 1) * 100));
    const rps = medianWithCi(pairsOut.map((p) => (1 - p.wrapped.rps / p.plain.rps) * 100));
    const trimmed = trimmedLogRatioWithCi(pairsOut.map((p) => p.wrapped.cpuUs / p.plain.cpuUs));
    console.log(
      `breaker end to end   : ${pairsOut.length} pairs × ${pairRequests} requests in one gateway; without ${median(pairsOut.map((p) => p.plain.cpuUs)).toFixed(1)} µs CPU/req, with ${median(pairsOut.map((p) => p.wrapped.cpuUs)).toFixed(1)}; ` +
        `cost ${cpu.median.toFixed(2)} % CPU/req (median, 95% CI ${cpu.low.toFixed(2)}…${cpu.high.toFixed(2)}; trimmed mean of log ratios ${trimmed.estimate.toFixed(2)} %, bootstrap 95% CI ${trimmed.low.toFixed(2)}…${trimmed.high.toFixed(2)}), ` +
        `${rps.median.toFixed(2)} % req/s (95% CI ${rps.low.toFixed(2)}…${rps.high.toFixed(2)}) (target <= 5%)`,
    );
  }
  if (breakerBlocksOut.length > 0) {
    const cpu = breakerBlocksOut.map((b) => (b.wrapped.cpuUs / b.plain.cpuUs - 1) * 100);
    const rps = breakerBlocksOut.map((b) => (1 - b.wrapped.rps / b.plain.rps) * 100);
    console.log(
      `breaker in-process   : ${breakerBlocksOut.length} blocks × 2000 calls; unwrapped ${median(breakerBlocksOut.map((b) => b.plain.cpuUs)).toFixed(2)} µs CPU/call, wrapped ${median(breakerBlocksOut.map((b) => b.wrapped.cpuUs)).toFixed(2)}; ` +
        `cost ${median(cpu).toFixed(2)} % CPU/call (blocks ${Math.min(...cpu).toFixed(1)}…${Math.max(...cpu).toFixed(1)}, IQR ${quartiles(cpu)}), ${median(rps).toFixed(2)} % calls/s (IQR ${quartiles(rps)}) (target <= 5%)`,
    );
  }
  if (breakerOverhead.length > 0) {
    const us = breakerOverhead.map((b) => b.wrapped - b.plain);
    const proxyCpu = has('proxy') ? median(results.filter((r) => r.target === 'proxy').map((r) => r.cpuUs)) : NaN;
    console.log(
      `breaker own cost     : ${median(us).toFixed(2)} µs CPU per call (wrapped ${median(breakerOverhead.map((b) => b.wrapped)).toFixed(2)} − unwrapped ${median(breakerOverhead.map((b) => b.plain)).toFixed(2)}, 20 blocks × 50,000, range ${Math.min(...us).toFixed(2)}…${Math.max(...us).toFixed(2)})` +
        (Number.isNaN(proxyCpu) ? '' : ` = ${((median(us) / proxyCpu) * 100).toFixed(2)} % of the proxy's ${proxyCpu.toFixed(1)} µs CPU/req (target <= 5%)`),
    );
  }
  if (has('proxy', 'proxy+breaker')) console.log(`breaker cost          = ${perRound((of) => (1 - of('proxy+breaker').rps / of('proxy').rps) * 100)} % throughput, ${perRound((of) => (of('proxy+breaker').cpuUs / of('proxy').cpuUs - 1) * 100)} % CPU/req (target <= 5%)`);
}

const serverTarget = process.env.BENCH_SERVER as Target | 'breaker' | 'pair' | undefined;
if (serverTarget === 'breaker') await measureBreaker(process.env.BENCH_UPSTREAM!, Number(process.env.BENCH_BREAKER_BLOCKS), 2000);
else if (serverTarget) await serve(serverTarget);
