/**
 * Job queue throughput: enqueue + process of BENCH_JOBS (5000) no-op jobs per
 * round through @bulwark/jobs (JobQueue.enqueue + JobWorker) against raw
 * BullMQ Queue.add + Worker in the same run, with BENCH_PRODUCERS (16)
 * concurrent producers and worker concurrency BENCH_CONCURRENCY (100, as the issue asks). Two
 * baselines: raw BullMQ with its defaults (plain list, counter ids) and raw
 * BullMQ with the options the wrapper sets (priority, own ids, attempts,
 * custom backoff, completed retention), which isolates the wrapper's code from
 * its choices. Rounds alternate variants so drift hits all; each round uses a
 * fresh queue. Figures: jobs/s from first enqueue to last handler call.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker, type JobsOptions } from 'bullmq';
import { Registry } from 'prom-client';
import { ensureInfra } from '../scripts/infra/index.ts';
import { FULL_JITTER, JobMetrics, JobQueue, JobWorker, fullJitterDelay } from '../packages/jobs/src/index.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 5000);
const PRODUCERS = Number(process.env.BENCH_PRODUCERS ?? 16);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PREFIX = `jobsbench-${process.pid}`;

type Variant = 'wrapper' | 'raw-same-options' | 'raw-defaults';

async function produce(add: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < JOBS) await add(next++);
    }),
  );
}

function allProcessed(): { count: () => void; done: Promise<void> } {
  let n = 0;
  let resolve: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    count: () => {
      if (++n === JOBS) resolve();
    },
    done,
  };
}

async function round(variant: Variant, url: string, registry: Registry): Promise<number> {
  const connection = { url, maxRetriesPerRequest: null };
  const name = `b${randomUUID().slice(0, 8)}`;
  const { count, done } = allProcessed();
  if (variant === 'wrapper') {
    const metrics = new JobMetrics(registry);
    const queue = new JobQueue<{ i: number }>({ name }, { connection, prefix: PREFIX, metrics });
    const worker = new JobWorker<{ i: number }>(queue.definition, async () => count(), { connection, prefix: PREFIX, metrics, concurrency: CONCURRENCY });
    await worker.start();
    const started = performance.now();
    await produce((i) => queue.enqueue('noop', { i }));
    await done;
    const seconds = (performance.now() - started) / 1000;
    await worker.stop();
    await queue.obliterate();
    await queue.close();
    return JOBS / seconds;
  }
  const queue = new Queue(name, { connection, prefix: PREFIX });
  const worker = new Worker(name, async () => count(), {
    connection,
    prefix: PREFIX,
    concurrency: CONCURRENCY,
    settings: { backoffStrategy: (n: number) => fullJitterDelay(n, { baseMs: 1000, capMs: 300_000 }) },
  });
  await worker.waitUntilReady();
  const same: () => JobsOptions = () => ({
    jobId: randomUUID(),
    priority: 3,
    attempts: 5,
    backoff: { type: FULL_JITTER },
    removeOnFail: false,
    removeOnComplete: { count: 1000, age: 86_400 },
  });
  const started = performance.now();
  await produce((i) => (variant === 'raw-same-options' ? queue.add('noop', { i }, same()) : queue.add('noop', { i }, { removeOnComplete: { count: 1000 } })));
  await done;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return JOBS / seconds;
}

export default async function run(): Promise<void> {
  const url = (await ensureInfra(['redis'])).BULWARK_REDIS_URL!;
  const registry = new Registry();
  const variants: Variant[] = ['wrapper', 'raw-same-options', 'raw-defaults'];
  for (const v of variants) await round(v, url, registry); // warm-up
  const results: Record<Variant, number[]> = { wrapper: [], 'raw-same-options': [], 'raw-defaults': [] };
  // The order turns every round, so a load that drifts during the run does not always favour the same variant.
  for (let r = 0; r < ROUNDS; r++) for (let k = 0; k < variants.length; k++) {
    const v = variants[(k + r) % variants.length]!;
    results[v].push(await round(v, url, registry));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`jobs: enqueue + process ${JOBS} no-op jobs, ${PRODUCERS} producers, worker concurrency ${CONCURRENCY}, ${ROUNDS} rounds (median jobs/s)`);
  for (const v of variants) console.log(`  ${v.padEnd(18)} ${median(results[v]).toFixed(0).padStart(8)} jobs/s   rounds: ${results[v].map((x) => x.toFixed(0)).join(' ')}`);
  const ratio = (a: Variant, b: Variant) => median(results[a].map((x, i) => x / results[b][i]!)).toFixed(3);
  console.log(`  wrapper / raw-same-options ${ratio('wrapper', 'raw-same-options')}×   wrapper / raw-defaults ${ratio('wrapper', 'raw-defaults')}×   (per-round median)`);
}
