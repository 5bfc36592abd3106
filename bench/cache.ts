/**
 * @bulwark/cache against bentocache (L1 memory + L2 Redis + Redis bus, its
 * documented two-tier setup) on the shared local Redis, in one run:
 *
 * - L1 hits: BENCH_KEYS (1,000) warm keys read round-robin by BENCH_CONCURRENCY
 *   (32) callers, BENCH_OPS (50,000) reads per round;
 * - L2 hits: a second instance of each (empty L1, connections already open)
 *   reads BENCH_L2_KEYS (10,000) keys that the first filled, each once;
 * - stampede: BENCH_STAMPEDE (1,000) concurrent misses on one new key whose
 *   origin takes BENCH_ORIGIN_MS (20 ms): wall time until all have their value,
 *   and origin calls (both must be 1).
 *
 * Rounds (BENCH_ROUNDS, 5) alternate ours, theirs, so drift hits both; the
 * median of the per-round ratios (ours ÷ theirs on ops/s, theirs ÷ ours on
 * time) is printed. Target: ≥ 1.0× on each.
 * Run: NODE_OPTIONS=--conditions=bulwark-source npm run bench -- cache
 */
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { Redis } from 'ioredis';
import { ensureInfra } from '../scripts/infra/index.ts';
import { Cache } from '../packages/cache/src/index.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const OPS = Number(process.env.BENCH_OPS ?? 50_000);
const KEYS = Number(process.env.BENCH_KEYS ?? 1_000);
const L2_KEYS = Number(process.env.BENCH_L2_KEYS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STAMPEDE = Number(process.env.BENCH_STAMPEDE ?? 1_000);
const ORIGIN_MS = Number(process.env.BENCH_ORIGIN_MS ?? 20);

/** The two caches behind one shape: get-or-fill, and close. */
interface Subject {
  get(key: string, factory: () => Promise<unknown>): Promise<unknown>;
  close(): Promise<void>;
}

async function ours(url: string, prefix: string): Promise<Subject> {
  const redis = new Redis(url);
  const cache = new Cache({ name: 'bench', prefix, redis, ttlMs: 600_000, l1MaxEntries: L2_KEYS * 2, l1MaxTtlMs: 600_000 });
  await cache.start();
  return {
    get: (key, factory) => cache.get(key, factory),
    async close() {
      await cache.close();
      redis.disconnect();
    },
  };
}

async function theirs(url: string, prefix: string): Promise<Subject> {
  const redis = new Redis(url);
  const { hostname, port } = new URL(url);
  const bento = new BentoCache({
    default: 'bench',
    stores: {
      bench: bentostore()
        .useL1Layer(memoryDriver({ maxItems: L2_KEYS * 2 }))
        .useL2Layer(redisDriver({ connection: redis, prefix }))
        .useBus(redisBusDriver({ connection: { host: hostname, port: Number(port) } })),
    },
  });
  return {
    get: (key, factory) => bento.getOrSet({ key, factory, ttl: '10m' }),
    async close() {
      await bento.disconnectAll();
      redis.disconnect();
    },
  };
}

type Make = (url: string, prefix: string) => Promise<Subject>;

async function concurrently(n: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await work(next++);
  }));
}

const value = (key: string) => async () => ({ key, name: `product ${key}`, price: 1999, tags: ['a', 'b'] });

/** ops/s of L1 hits over warm keys. */
async function l1Hits(make: Make, url: string, prefix: string): Promise<number> {
  const s = await make(url, prefix);
  await concurrently(KEYS, (i) => s.get(`k${i}`, value(`k${i}`)));
  const started = performance.now();
  await concurrently(OPS, (i) => s.get(`k${i % KEYS}`, value(`k${i % KEYS}`)));
  const seconds = (performance.now() - started) / 1000;
  await s.close();
  return OPS / seconds;
}

/** ops/s of L2 hits: a second instance reads what the first filled. */
async function l2Hits(make: Make, url: string, prefix: string): Promise<number> {
  const filler = await make(url, prefix);
  await concurrently(L2_KEYS, (i) => filler.get(`k${i}`, value(`k${i}`)));
  const reader = await make(url, prefix);
  await reader.get('warm-up', value('warm-up'));
  const started = performance.now();
  await concurrently(L2_KEYS, (i) => reader.get(`k${i}`, value(`k${i}`)));
  const seconds = (performance.now() - started) / 1000;
  await filler.close();
  await reader.close();
  return L2_KEYS / seconds;
}

/** ms until STAMPEDE concurrent misses on one key all have the value, and origin calls. */
async function stampede(make: Make, url: string, prefix: string): Promise<{ ms: number; calls: number }> {
  const s = await make(url, prefix);
  let calls = 0;
  const origin = async (): Promise<string> => {
    calls++;
    await new Promise((r) => setTimeout(r, ORIGIN_MS));
    return 'hot';
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: STAMPEDE }, () => s.get('hot', origin)));
  const ms = performance.now() - started;
  await s.close();
  return { ms, calls };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function run(): Promise<void> {
  const url = process.env.BULWARK_REDIS_URL ?? (await ensureInfra(['redis'])).BULWARK_REDIS_URL!;
  const admin = new Redis(url);
  const r = { l1: [[], []] as number[][], l2: [[], []] as number[][], st: [[], []] as number[][], calls: [[], []] as number[][] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, make] of [ours, theirs].entries()) {
      const prefix = `cachebench-${process.pid}-${round}-${i}`;
      r.l1[i]!.push(await l1Hits(make, url, `${prefix}-l1`));
      r.l2[i]!.push(await l2Hits(make, url, `${prefix}-l2`));
      const st = await stampede(make, url, `${prefix}-st`);
      r.st[i]!.push(st.ms);
      r.calls[i]!.push(st.calls);
    }
  }
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `cachebench-${process.pid}-*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
  admin.disconnect();

  const ratios = (a: number[], b: number[], invert = false): string => {
    const per = a.map((x, k) => (invert ? b[k]! / x : x / b[k]!));
    return `${median(per).toFixed(3)}× (rounds ${Math.min(...per).toFixed(2)}–${Math.max(...per).toFixed(2)})`;
  };
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  console.log(`cache: @bulwark/cache vs bentocache, ${ROUNDS} alternating rounds, ${CONCURRENCY} concurrent callers`);
  console.log(`  L1 hits/s      ours ${n(median(r.l1[0]!))}   bentocache ${n(median(r.l1[1]!))}   ratio ${ratios(r.l1[0]!, r.l1[1]!)}`);
  console.log(`  L2 hits/s      ours ${n(median(r.l2[0]!))}   bentocache ${n(median(r.l2[1]!))}   ratio ${ratios(r.l2[0]!, r.l2[1]!)}`);
  console.log(`  stampede ms    ours ${median(r.st[0]!).toFixed(1)}   bentocache ${median(r.st[1]!).toFixed(1)}   ratio (theirs ÷ ours) ${ratios(r.st[0]!, r.st[1]!, true)}`);
  console.log(`  origin calls per ${STAMPEDE}-miss stampede: ours ${r.calls[0]!.join(',')}   bentocache ${r.calls[1]!.join(',')}`);
  console.log(`  load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
