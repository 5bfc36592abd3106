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
 *
 * Then the whole service (BENCH_SERVICE=0 skips it): the notifications app
 * in-process on its own PostgreSQL schema, events published through
 * `POST /v1/tenants/:t/events` (row in the delivery log, dispatcher, job,
 * signed POST, attempt row and endpoint health in one transaction): a burst
 * of BENCH_DELIVERIES for throughput, then a steady BENCH_RATE/s (default the
 * seed's 5M/day ≈ 58/s) for BENCH_STEADY_SECONDS (20) for p99 latency and the
 * delivered share.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { ensureInfra } from '../scripts/infra/index.ts';
import { JobQueue, JobWorker } from '../packages/jobs/src/index.ts';
import pg from 'pg';
import { deletePrefix, runtimeDbUrl } from '@bulwark/test-support';
import { loadConfig } from '../packages/service-kit/src/index.ts';
import { createNotificationsApp, deliver, notificationsConfigSchema } from '../apps/notifications/src/index.ts';

const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 3000);
const PRODUCERS = Number(process.env.BENCH_PRODUCERS ?? 16);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PREFIX = `webhooksbench-${process.pid}`;
const SEED_BAR_PER_SECOND = 5_000_000 / 86_400;
const SERVICE = process.env.BENCH_SERVICE !== '0';
const RATE = Number(process.env.BENCH_RATE ?? SEED_BAR_PER_SECOND);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 20);

type Variant = 'notifications' | 'raw-bullmq-fetch';
interface Payload {
  i: number;
  enqueuedAt: number;
}
/** What the service sends: the event envelope around the published data. */
interface Envelope {
  data?: Payload;
}

class Receiver {
  latencies: number[] = [];
  expected = DELIVERIES;
  #resolve: () => void = () => {};
  done: Promise<void> = Promise.resolve();
  readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const p = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Payload & Envelope;
      this.latencies.push(performance.timeOrigin + performance.now() - (p.data ?? p).enqueuedAt);
      res.writeHead(200).end('ok');
      if (this.latencies.length === this.expected) this.#resolve();
    });
  });
  reset(expected = DELIVERIES): void {
    this.expected = expected;
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
  const redisUrl = (await ensureInfra(['redis'])).BULWARK_REDIS_URL!;
  const receiver = new Receiver();
  await new Promise<void>((r) => receiver.server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/hook`;
  const variants: Variant[] = ['notifications', 'raw-bullmq-fetch'];
  for (const v of variants) await round(v, redisUrl, receiver, url); // warm-up
  const results: Record<Variant, { perSecond: number; p99: number; delivered: number }[]> = { notifications: [], 'raw-bullmq-fetch': [] };
  for (let r = 0; r < ROUNDS; r++) for (const v of variants) results[v].push(await round(v, redisUrl, receiver, url));
  if (!SERVICE) receiver.server.close();
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
  if (SERVICE) await runService(redisUrl, receiver, url);
}

/** The whole service path: HTTP publish → delivery log → dispatcher → job → signed POST → attempt log. */
async function runService(redisUrl: string, receiver: Receiver, hook: string): Promise<void> {
  const pgUrl = (await ensureInfra(['postgres'])).BULWARK_PG_URL!;
  const id = randomUUID().replaceAll('-', '').slice(0, 8);
  const schema = `notifications_bench_${id}`;
  const prefix = `${PREFIX}-svc-${id}`;
  const config = loadConfig(notificationsConfigSchema, {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    DATABASE_URL: await runtimeDbUrl(pgUrl),
    MIGRATION_DATABASE_URL: pgUrl,
    NOTIFICATIONS_SCHEMA: schema,
    REDIS_URL: redisUrl,
    JOBS_PREFIX: prefix,
    EVENTS_ENABLED: 'false',
    SSRF_ALLOW_LOOPBACK: 'true',
    WORKER_CONCURRENCY: String(CONCURRENCY),
    DISPATCH_INTERVAL_MS: '200',
  });
  const devNull = { write: () => true } as unknown as NodeJS.WritableStream;
  const app = createNotificationsApp({ config, logDestination: devNull as never });
  const { url } = await app.start();
  const agent = new http.Agent({ keepAlive: true, maxSockets: PRODUCERS });
  const post = (path: string, body: unknown): Promise<number> =>
    new Promise((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = http.request(`${url}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(data);
    });
  try {
    const tenant = 'bench';
    if ((await post(`/v1/tenants/${tenant}/endpoints`, { url: hook, eventTypes: ['bench.event'] })) !== 201) throw new Error('endpoint registration failed');
    const publish = (i: number) => post(`/v1/tenants/${tenant}/events`, { type: 'bench.event', data: { i, enqueuedAt: now() } });
    // Burst: throughput of the whole path.
    receiver.reset(DELIVERIES);
    const started = performance.now();
    await produce(publish);
    await receiver.done;
    const burst = summarize(receiver, (performance.now() - started) / 1000);
    // Steady rate: latency at the seed's load.
    const total = Math.round(RATE * STEADY_SECONDS);
    receiver.reset(total);
    const t0 = performance.now();
    const sends: Promise<number>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sends.push(publish(i));
    }
    const statuses = await Promise.all(sends);
    await Promise.race([receiver.done, new Promise((r) => setTimeout(r, 30_000))]);
    const steady = summarize(receiver, (performance.now() - t0) / 1000);
    const logged = new pg.Client({ connectionString: pgUrl });
    await logged.connect();
    const { rows } = await logged.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM "${schema}".deliveries GROUP BY status`);
    console.log(`webhooks through the service (HTTP publish → PostgreSQL delivery log → dispatcher → @bulwark/jobs → signed POST → attempt log), worker concurrency ${CONCURRENCY}`);
    console.log(`  burst  ${DELIVERIES} events, ${PRODUCERS} publishers: ${burst.perSecond.toFixed(0)} deliveries/s   p99 publish→receipt ${burst.p99.toFixed(0)} ms`);
    console.log(
      `  steady ${RATE.toFixed(1)}/s for ${STEADY_SECONDS} s: p50 ${percentile(receiver.latencies, 0.5).toFixed(0)} ms   p99 ${steady.p99.toFixed(0)} ms   delivered ${steady.delivered}/${total} (${((100 * steady.delivered) / total).toFixed(2)}%)   publish 202s ${statuses.filter((s) => s === 202).length}/${total}`,
    );
    console.log(`  delivery log: ${rows.map((r) => `${r.status} ${r.n}`).join(', ')}`);
    await logged.query(`DROP SCHEMA "${schema}" CASCADE`);
    await logged.end();
  } finally {
    agent.destroy();
    await app.service.stop();
    receiver.server.close();
    await deletePrefix(redisUrl, `${prefix}:`);
  }
}

function percentile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}
