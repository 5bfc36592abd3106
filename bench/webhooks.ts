/**
 * Webhook delivery: BENCH_DELIVERIES (3000) deliveries per round to a local
 * HTTP receiver, through @bulwark/jobs (JobQueue + JobWorker) and
 * @bulwark/notifications `deliver` (HMAC-signed with two active secrets,
 * SSRF-guarded lookup, response snippet), against raw BullMQ Queue.add +
 * Worker + fetch (unsigned) in the same run, worker concurrency
 * BENCH_CONCURRENCY (32), BENCH_PRODUCERS (16) producers. Figures:
 * deliveries/s from first enqueue to last receipt, and p99 enqueue-to-receipt
 * latency measured by the receiver from a timestamp in the payload. Rounds
 * alternate variants; each round uses a fresh queue.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { ensureInfra } from '../scripts/infra/index.ts';
import { JobQueue, JobWorker } from '../packages/jobs/src/index.ts';
import { deliver } from '../apps/notifications/src/index.ts';

const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 3000);
const PRODUCERS = Number(process.env.BENCH_PRODUCERS ?? 16);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PREFIX = `webhooksbench-${process.pid}`;
const SEED_BAR_PER_SECOND = 5_000_000 / 86_400;

type Variant = 'notifications' | 'raw-bullmq-fetch';
interface Payload {
  i: number;
  enqueuedAt: number;
}

class Receiver {
  latencies: number[] = [];
  #resolve: () => void = () => {};
  done: Promise<void> = Promise.resolve();
  readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const p = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Payload;
      this.latencies.push(performance.timeOrigin + performance.now() - p.enqueuedAt);
      res.writeHead(200).end('ok');
      if (this.latencies.length === DELIVERIES) this.#resolve();
    });
  });
  reset(): void {
    this.latencies = [];
    this.done = new Promise<void>((r) => {
      this.#resolve = r;
    });
  }
}

async function produce(add: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < DELIVERIES) await add(next++);
    }),
  );
}

const now = (): number => performance.timeOrigin + performance.now();

async function round(variant: Variant, redisUrl: string, receiver: Receiver, url: string): Promise<{ perSecond: number; p99: number; delivered: number }> {
  const connection = { url: redisUrl, maxRetriesPerRequest: null };
  const name = `w${randomUUID().slice(0, 8)}`;
  receiver.reset();

  if (variant === 'notifications') {
    const queue = new JobQueue<Payload>({ name }, { connection, prefix: PREFIX });
    const worker = new JobWorker<Payload>(
      queue.definition,
      async (ctx) => {
        const r = await deliver({ url, body: JSON.stringify(ctx.data), secrets: ['current', 'previous'], eventId: ctx.id, eventType: 'bench', ssrf: { allowLoopback: true } });
        if (!r.ok) throw new Error(`delivery failed: ${r.status ?? r.error}`);
      },
      { connection, prefix: PREFIX, concurrency: CONCURRENCY },
    );
    await worker.start();
    const started = performance.now();
    await produce((i) => queue.enqueue('deliver', { i, enqueuedAt: now() }));
    await receiver.done;
    const seconds = (performance.now() - started) / 1000;
    await worker.stop();
    await queue.obliterate();
    await queue.close();
    return summarize(receiver, seconds);
  }
  const queue = new Queue<Payload>(name, { connection, prefix: PREFIX });
  const worker = new Worker<Payload>(
    name,
    async (job) => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job.data) });
      await res.text();
      if (!res.ok) throw new Error(`delivery failed: ${res.status}`);
    },
    { connection, prefix: PREFIX, concurrency: CONCURRENCY },
  );
  await worker.waitUntilReady();
  const started = performance.now();
  await produce((i) => queue.add('deliver', { i, enqueuedAt: now() }, { attempts: 5, removeOnComplete: { count: 1000 } }));
  await receiver.done;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return summarize(receiver, seconds);
}

function summarize(receiver: Receiver, seconds: number): { perSecond: number; p99: number; delivered: number } {
  const sorted = [...receiver.latencies].sort((a, b) => a - b);
  return { perSecond: sorted.length / seconds, p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!, delivered: sorted.length };
}

export default async function run(): Promise<void> {
  const redisUrl = process.env.BULWARK_REDIS_URL ?? (await ensureInfra(['redis'])).BULWARK_REDIS_URL!;
  const receiver = new Receiver();
  await new Promise<void>((r) => receiver.server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/hook`;
  const variants: Variant[] = ['notifications', 'raw-bullmq-fetch'];
  for (const v of variants) await round(v, redisUrl, receiver, url); // warm-up
  const results: Record<Variant, { perSecond: number; p99: number; delivered: number }[]> = { notifications: [], 'raw-bullmq-fetch': [] };
  for (let r = 0; r < ROUNDS; r++) for (const v of variants) results[v].push(await round(v, redisUrl, receiver, url));
  receiver.server.close();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`webhooks: ${DELIVERIES} deliveries/round to a local receiver, ${PRODUCERS} producers, worker concurrency ${CONCURRENCY}, ${ROUNDS} rounds (medians)`);
  for (const v of variants) {
    const rs = results[v];
    console.log(
      `  ${v.padEnd(18)} ${median(rs.map((x) => x.perSecond)).toFixed(0).padStart(7)} deliveries/s   p99 enqueue→receipt ${median(rs.map((x) => x.p99)).toFixed(0)} ms   delivered ${rs.reduce((a, x) => a + x.delivered, 0)}/${DELIVERIES * ROUNDS}`,
    );
  }
  const ratio = median(results.notifications.map((x, i) => x.perSecond / results['raw-bullmq-fetch'][i]!.perSecond));
  console.log(`  notifications / raw ${ratio.toFixed(3)}×   seed bar 5M/day = ${SEED_BAR_PER_SECOND.toFixed(1)}/s → ${(median(results.notifications.map((x) => x.perSecond)) / SEED_BAR_PER_SECOND).toFixed(1)}× the bar`);
}
