/**
 * `npm run bench -- edge`: the edge cache (apps/edge, its own process)
 * against Debian nginx's `proxy_cache` (one worker, `proxy_cache_lock on`)
 * in front of the same origin, on the same objects, in the same run:
 *
 * - hits: BENCH_OBJECTS (1,000) objects of BENCH_OBJECT_BYTES (8 KiB,
 *   `Cache-Control: max-age=3600`) stored in both first, then read on a
 *   Zipf(s = 1) mix by BENCH_CONCURRENCY (32) closed-loop callers for
 *   BENCH_OPS (20,000) requests per round: requests/s and time to first
 *   byte (response head) p50/p99;
 * - origin load saved: BENCH_ZIPF_OBJECTS (10,000) fresh objects, BENCH_ZIPF_OPS
 *   (20,000) requests on a Zipf mix from cold: 1 − origin requests ÷ requests.
 *
 * Rounds (BENCH_ROUNDS, 3) alternate edge, nginx; the median of per-round
 * ratios edge ÷ nginx is printed (≥ 1 is better for throughput, ≤ 1 for TTFB).
 * The client is this Node process (undici), the same for both.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startService, type Service } from '@bulwark/test-support';
import { measureClosedLoop } from './lib/closed-loop.ts';
import { startNginx } from './lib/gateway-peers.ts';
import { zipfPicker } from './lib/zipf.ts';

const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 1_000);
const OBJECT_BYTES = Number(process.env.BENCH_OBJECT_BYTES ?? 8_192);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const OPS = Number(process.env.BENCH_OPS ?? 20_000);
const ZIPF_OBJECTS = Number(process.env.BENCH_ZIPF_OBJECTS ?? 10_000);
const ZIPF_OPS = Number(process.env.BENCH_ZIPF_OPS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const EDGE_MAIN = fileURLToPath(new URL('../apps/edge/src/main.ts', import.meta.url));

type Target = 'edge' | 'nginx';
interface Result {
  rps: number;
  ttfbP50: number;
  ttfbP99: number;
}

/** The origin: fixed bodies per path, counted per path prefix. */
async function startOrigin(): Promise<{ url: string; count: (prefix: string) => number; close: () => void }> {
  const body = Buffer.alloc(OBJECT_BYTES, 'x');
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const prefix = (req.url ?? '/').split('/')[1] ?? '';
    counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'cache-control': 'public, max-age=3600', etag: `"${req.url}"` });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, count: (p) => counts.get(p) ?? 0, close: () => server.close() };
}

/** nginx with proxy_cache (one worker, a cache lock so concurrent misses collapse as at the edge). */
async function startNginxCache(origin: string): Promise<{ child: ChildProcess; url: string }> {
  const { child, port } = await startNginx(origin, undefined, {
    keepalive: 64,
    http: (dir) => `  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=edge:64m max_size=1g inactive=1h use_temp_path=off;`,
    location: ['proxy_cache edge;', 'proxy_cache_lock on;', 'proxy_cache_key $host$request_uri;', 'add_header X-Cache $upstream_cache_status;'].map((l) => `      ${l}`).join('\n'),
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** Closed-loop GETs of the paths `pathOf(i)`; time to the response head per request. */
async function load(url: string, ops: number, pathOf: (i: number) => string): Promise<Result> {
  const pool = new Pool(url, { connections: CONCURRENCY, pipelining: 1 });
  const ttfb = new Float64Array(ops);
  const round = await measureClosedLoop(
    async (i) => {
      const t = performance.now();
      const res = await pool.request({ method: 'GET', path: pathOf(i) });
      ttfb[i] = performance.now() - t;
      if (res.statusCode !== 200) throw new Error(`${url}${pathOf(i)}: ${res.statusCode}`);
      await res.body.dump();
    },
    { ops, concurrency: CONCURRENCY },
  );
  await pool.close();
  ttfb.sort();
  return { rps: ops / round.seconds, ttfbP50: ttfb[Math.floor(ops * 0.5)]!, ttfbP99: ttfb[Math.floor(ops * 0.99)]! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function main(): Promise<void> {
  const origin = await startOrigin();
  let edge: Service | undefined;
  let nginx: ChildProcess | undefined;
  try {
    edge = await startService({ main: EDGE_MAIN, name: 'edge', env: { ORIGIN_URL: origin.url, LOG_LEVEL: 'warn', EDGE_CACHE_MAX_BYTES: String(1024 * 1024 * 1024) } });
    const ng = await startNginxCache(origin.url);
    nginx = ng.child;
    const urls: Record<Target, string> = { edge: edge.url, nginx: ng.url };
    console.log(`edge bench: ${OBJECTS} objects of ${OBJECT_BYTES} B, ${CONCURRENCY} callers, ${OPS} hits per round, ${ROUNDS} rounds; Zipf origin load: ${ZIPF_OPS} requests over ${ZIPF_OBJECTS} objects from cold`);

    for (const target of ['edge', 'nginx'] as Target[]) await load(urls[target], OBJECTS, (i) => `/hot-${target}/${i}`);
    const hot = { edge: [] as Result[], nginx: [] as Result[] };
    const pick = zipfPicker(OBJECTS);
    for (let r = 0; r < ROUNDS; r++) {
      for (const target of ['edge', 'nginx'] as Target[]) {
        const result = await load(urls[target], OPS, () => `/hot-${target}/${pick()}`);
        hot[target].push(result);
        console.log(`round ${r + 1} ${target.padEnd(5)} ${result.rps.toFixed(0)} req/s, TTFB p50 ${result.ttfbP50.toFixed(2)} ms p99 ${result.ttfbP99.toFixed(2)} ms`);
      }
    }
    for (const target of ['edge', 'nginx'] as Target[]) {
      const extra = origin.count(`hot-${target}`) - OBJECTS;
      if (extra !== 0) console.log(`warning: ${target} sent ${extra} hit-phase requests to the origin`);
    }
    const ratios = (f: (r: Result) => number) => median(hot.edge.map((e, i) => f(e) / f(hot.nginx[i]!)));
    console.log(`hits: edge/nginx throughput = ${ratios((r) => r.rps).toFixed(3)}× (median of rounds; edge ${median(hot.edge.map((r) => r.rps)).toFixed(0)} vs nginx ${median(hot.nginx.map((r) => r.rps)).toFixed(0)} req/s)`);
    console.log(`hits: edge/nginx TTFB p50 = ${ratios((r) => r.ttfbP50).toFixed(3)}×, p99 = ${ratios((r) => r.ttfbP99).toFixed(3)}× (edge p50 ${median(hot.edge.map((r) => r.ttfbP50)).toFixed(2)} ms, nginx ${median(hot.nginx.map((r) => r.ttfbP50)).toFixed(2)} ms)`);

    for (const target of ['edge', 'nginx'] as Target[]) {
      const zipf = zipfPicker(ZIPF_OBJECTS);
      const result = await load(urls[target], ZIPF_OPS, () => `/zipf-${target}/${zipf()}`);
      const originRequests = origin.count(`zipf-${target}`);
      console.log(`zipf ${target.padEnd(5)} origin requests ${originRequests} of ${ZIPF_OPS}: origin load saved ${((1 - originRequests / ZIPF_OPS) * 100).toFixed(1)}% (${result.rps.toFixed(0)} req/s)`);
    }
  } finally {
    await edge?.stop();
    nginx?.kill('SIGTERM');
    origin.close();
  }
}
