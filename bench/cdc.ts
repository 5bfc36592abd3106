/**
 * CDC to Kafka, in one run:
 *  1. commit-to-Kafka latency: appendToStream (apps/orders event store) at
 *     BENCH_RATE (1,000) events/s for BENCH_SECONDS (60) after a
 *     BENCH_WARMUP_SECONDS (3) warm-up, one event per transaction, spread over
 *     BENCH_STREAMS (200) growing orders of BENCH_EVENTS_PER_STREAM (5) events
 *     (one stream creation, then appends at the next version), through
 *     the real CDC relay (apps/orders/src/relay/cdc-relay.ts: pgoutput slot →
 *     @bulwark/events producer, in a process of its own as in the orders
 *     service), acks=all. Latency = Kafka's acknowledgement of the event to
 *     the relay − the moment the append's COMMIT returned to the writer (epoch
 *     clock of this machine); also from the event's recorded_at (server clock,
 *     its transaction's start), which a late writer event loop cannot flatter.
 *     p50/p99/max; target p99 ≤ 100 ms. A plain kafkajs consumer in its own
 *     process then reads the topic and every event must be there; with
 *     BENCH_LIVE_CONSUMER=1 it consumes during the run and the latency to it
 *     is printed too (it then competes for the 2 cores). CPU seconds per event
 *     of every process involved are printed (/proc). BENCH_RELAY_NODE_ARGS
 *     passes node flags (e.g. --cpu-prof) to the relay process.
 *  2. producer throughput: @bulwark/events createProducer().publish() of
 *     BENCH_PRODUCE_EVENTS (20,000) events against raw kafkajs with the same
 *     settings (idempotent, acks=all, one request in flight, batches of 500,
 *     the same CloudEvents records built per message), the wrapper published
 *     500 at a time (the raw loop's shape: the target figure) and all at
 *     once; one warm-up round each, then BENCH_ROUNDS (7) rounds, order
 *     turning each round; the median of
 *     the per-round ratios (neighbours in time share the box's mood), the
 *     ratio of the medians, and CPU per event; target wrapper ≥ 0.9× raw.
 * Own schema, slot, publication and topics, all removed at the end.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import readline from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';
import { sessionDbUrl, silent } from '@bulwark/test-support';
import { createPool, migrate } from '@bulwark/db';
import { connectAdmin, createKafka, createProducer, defineEvent, createEventRegistry, provisionTopics, toKafkaRecord } from '@bulwark/events';
import { z } from 'zod';
import { ensureInfra } from '../scripts/infra/index.ts';
import { dropReplication, ensurePublication, ensureSlot } from '../apps/orders/src/relay/replication-setup.ts';
import { appendToStream } from '../apps/orders/src/store/event-store.ts';
import { cpuSecondsByCommand, cpuSecondsOf } from './lib/proc-cpu.ts';

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const PRODUCE_EVENTS = Number(process.env.BENCH_PRODUCE_EVENTS ?? 20_000);
const PRODUCE_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const MIGRATIONS_DIR = fileURLToPath(new URL('../apps/orders/migrations/', import.meta.url));
const STREAM_SLOTS = Number(process.env.BENCH_STREAMS ?? 200);
const EVENTS_PER_STREAM = Number(process.env.BENCH_EVENTS_PER_STREAM ?? 5);
/** Consume while the load runs (latency to the consumer too); otherwise the topic is read after the run, to check completeness. */
const LIVE_CONSUMER = process.env.BENCH_LIVE_CONSUMER === '1';
const RELAY_PROCESS = fileURLToPath(new URL('./lib/cdc-relay-process.ts', import.meta.url));

/** Epoch ms with sub-ms precision, comparable across processes of this machine. */
const clock = (): number => performance.timeOrigin + performance.now();

/**
 * The consumer runs in its own process (as consumers do in production), so
 * the load generator and relay in this one do not delay its receipts. It
 * prints `ready` once it joined the group, then `<event id> <epoch ms>` per event
 * (one write per fetched batch: the receipt time is the batch's arrival).
 */
const CONSUMER_SCRIPT = `
import kafkajs from 'kafkajs';
const [brokers, topic, group] = process.argv.slice(1);
const clock = () => performance.timeOrigin + performance.now();
const client = new kafkajs.Kafka({ clientId: group, brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING });
const consumer = client.consumer({ groupId: group, minBytes: 65536, maxWaitTimeInMs: 10, sessionTimeout: 10000, heartbeatInterval: 1000 });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
consumer.on(consumer.events.GROUP_JOIN, () => process.stdout.write('ready\\n'));
await consumer.run({ eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
  const at = clock();
  let out = '';
  for (const message of batch.messages) { const id = message.headers?.ce_id?.toString(); if (id) out += id + ' ' + at + '\\n'; resolveOffset(message.offset); }
  if (out) process.stdout.write(out);
  await heartbeat();
} });
process.on('SIGTERM', async () => { await consumer.disconnect(); process.exit(0); });
`;

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function latency(pgUrl: string, brokers: string[], id: string): Promise<void> {
  const schema = `bench_cdc_${id}`;
  const slot = `bench_cdc_${id}`;
  const publication = `bench_cdc_${id}`;
  const topic = `bench.cdc.${id}.orders`;
// As the owner, whose sessions default to one tenant: appends fill tenant_id as the service's do, without a transaction around each.
  const db = createPool({ connectionString: sessionDbUrl(pgUrl, { searchPath: schema, tenant: 'bench' }), name: 'bench-cdc', max: Number(process.env.BENCH_PG_CONNECTIONS ?? 32), registry: new Registry(), log: silent });
  const kafka = createKafka({ brokers, clientId: `bench-cdc-admin-${id}` });
  // The relay runs in its own process (bench/lib/cdc-relay-process.ts), as it does in the orders service.
  let relayProc: ReturnType<typeof spawn> | undefined;
  const relayedAt = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  let consumer: ReturnType<typeof spawn> | undefined;
  const committedAt = new Map<string, number>();
  const receivedAt = new Map<string, number>();
  try {
    await db.query(`CREATE SCHEMA "${schema}"`);
    await migrate({ pool: db, dir: MIGRATIONS_DIR, schema, phase: 'all' });
    const admin = await connectAdmin(kafka);
    await provisionTopics(admin, [{ name: topic, partitions: 6 }]);
    await admin.disconnect();
    await ensurePublication(db, publication, schema);
    await ensureSlot(db, slot);
    const startConsumer = async (): Promise<void> => {
      consumer = spawn(process.execPath, ['--input-type=module', '--eval', CONSUMER_SCRIPT, brokers.join(','), topic, `bench-cdc-${id}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => {
        readline.createInterface({ input: consumer!.stdout! }).on('line', (line) => {
          if (line === 'ready') return resolve();
          const [eventId, at] = line.split(' ');
          if (eventId && at && !receivedAt.has(eventId)) receivedAt.set(eventId, Number(at));
        });
      });
    };
    if (LIVE_CONSUMER) await startConsumer();
    relayProc = spawn(process.execPath, ['--conditions=bulwark-source', '--no-warnings', ...(process.env.BENCH_RELAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []), RELAY_PROCESS, JSON.stringify({ pgUrl, brokers, schema, slot, publication, topic, clientId: `bench-cdc-relay-${id}` })], { stdio: ['pipe', 'pipe', 'inherit'] });
    const relayLines = readline.createInterface({ input: relayProc.stdout! });
    const relayReport = new Promise<{ relayed: [string, number, number][]; acked: [string, number][] }>((resolve) => relayLines.on('line', (line) => line.startsWith('{') && resolve(JSON.parse(line))));
    let relayAcked = 0;
    relayLines.on('line', (line) => {
      const m = /^acked (\d+)$/.exec(line);
      if (m) relayAcked = Number(m[1]);
    });
    await new Promise<void>((resolve, reject) => {
      relayLines.on('line', (line) => line === 'streaming' && resolve());
      relayProc!.once('exit', (code) => reject(new Error(`relay process exited ${code}`)));
    });

    // Open-loop load: at each 5 ms tick, issue what the schedule owes; appends run concurrently on the pool.
    const total = Math.round(RATE * (WARMUP_SECONDS + SECONDS));
    const warmupEvents = Math.round(RATE * WARMUP_SECONDS);
    const measuredIds: string[] = [];
    let issued = 0;
    let failed = 0;
    const failureCodes = new Map<string, number>();
    let maxBacklog = 0;
    const slotTail: Promise<void>[] = [];
    const inFlight = new Set<Promise<void>>();
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    // CPU seconds per process group over the run: where 2 shared cores go, independent of the scheduler's mood.
    // PostgreSQL split: the bench's backends, the slot's walsender, the rest (WAL writer, checkpointer, other clients of the shared server).
    // The pool opens connections as the load needs them: a backend first seen at the end counts from 0.
    const pgPids = new Map<number, string>();
    const findPgPids = async (): Promise<void> => {
      const { rows } = await db.query<{ pid: number; kind: string }>(
        `SELECT pid, 'backend' AS kind FROM pg_stat_activity WHERE application_name = 'bench-cdc'
         UNION ALL SELECT active_pid, 'walsender' FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`,
        [slot],
      );
      for (const r of rows) pgPids.set(r.pid, r.kind);
    };
    await findPgPids();
    const pgCpu = (kind: string) => [...pgPids].filter(([, k]) => k === kind).reduce((n, [pid]) => n + cpuSecondsOf(pid), 0);
    const cpuNow = () => {
      const byComm = cpuSecondsByCommand(['postgres', 'java']);
      const self = process.cpuUsage();
      const backends = pgCpu('backend');
      const walsender = pgCpu('walsender');
      return {
        loadgen: (self.user + self.system) / 1e6,
        relay: cpuSecondsOf(relayProc!.pid!),
        ...(LIVE_CONSUMER ? { consumer: cpuSecondsOf(consumer!.pid!) } : {}),
        'pg backends': backends,
        'pg walsender': walsender,
        'pg other': byComm.get('postgres')! - backends - walsender,
        kafka: byComm.get('java')!,
      };
    };
    const cpuBefore = cpuNow();
    const started = performance.now();
    while (issued < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
      while (issued < due) {
        const eventId = randomUUID();
        if (issued >= warmupEvents) measuredIds.push(eventId);
        // Orders as they grow: STREAM_SLOTS open streams take events in turn; each gets EVENTS_PER_STREAM events
        // (OrderCreated, then ItemAdded at the next version) and is then replaced by a new one. A slot's appends
        // are chained, so each one runs at its stream's true next version.
        const slot = issued % STREAM_SLOTS;
        const turn = Math.floor(issued / STREAM_SLOTS);
        const version = turn % EVENTS_PER_STREAM;
        const streamId = `order-${id}-${slot}-${Math.floor(turn / EVENTS_PER_STREAM)}`;
        issued++;
        const event = version === 0 ? { eventId, type: 'OrderCreated', data: { customerId: 'bench' } } : { eventId, type: 'ItemAdded', data: { sku: `sku-${version}`, quantity: 1, unitPriceCents: 1299 } };
        const previous = slotTail[slot] ?? Promise.resolve();
        const p: Promise<void> = previous
          .then(() => appendToStream(db, streamId, 'order', version, [event]))
          .then(() => void committedAt.set(eventId, clock()))
          .catch((err: unknown) => {
            failed++;
            const code = String((err as { code?: unknown }).code ?? (err as Error).name);
            failureCodes.set(code, (failureCodes.get(code) ?? 0) + 1);
          })
          .finally(() => inFlight.delete(p));
        slotTail[slot] = p;
        inFlight.add(p);
      }
      maxBacklog = Math.max(maxBacklog, inFlight.size);
      await sleep(5);
    }
    await Promise.all(inFlight);
    loopDelay.disable();
    const offered = issued / ((performance.now() - started) / 1000);
    // Until the relay has had Kafka confirm every appended event (it reports its count every 100 ms).
    const ackDeadline = Date.now() + 60_000;
    while (relayAcked < issued - failed && Date.now() < ackDeadline) await sleep(50);
    await findPgPids();
    const cpuAfter = cpuNow();
    if (!LIVE_CONSUMER) await startConsumer();
    const deadline = Date.now() + 60_000;
    while (measuredIds.some((i) => !receivedAt.has(i)) && Date.now() < deadline) await sleep(50);
    relayProc.stdin!.write('stop\n');
    const report = await relayReport;
    const startedAt = new Map<string, number>();
    for (const [eventId, at, recordedAt] of report.relayed) {
      relayedAt.set(eventId, at);
      startedAt.set(eventId, recordedAt);
    }
    for (const [eventId, at] of report.acked) ackedAt.set(eventId, at);
    const span = (from: Map<string, number>, to: Map<string, number>): number[] =>
      measuredIds.flatMap((i) => (from.has(i) && to.has(i) ? [Math.max(0, to.get(i)! - from.get(i)!)] : [])).sort((a, b) => a - b);
    const figures = (xs: number[]): string => `p50 ${pct(xs, 50).toFixed(1)} ms | p90 ${pct(xs, 90).toFixed(1)} ms | p99 ${pct(xs, 99).toFixed(1)} ms | p99.9 ${pct(xs, 99.9).toFixed(1)} ms | max ${xs.at(-1)?.toFixed(1)} ms`;
    // The target figure: COMMIT returned to the writer → Kafka acknowledged the event (acks=all) to the relay.
    const lat = span(committedAt, ackedAt);
    // The same end measured from the server's clock: the event's recorded_at (its transaction's start), so a late
    // writer event loop cannot make the commit look later than it was.
    const fromTxStart = span(startedAt, ackedAt);
    const notAcked = measuredIds.filter((i) => !ackedAt.has(i)).length;
    const notOnTopic = measuredIds.filter((i) => !receivedAt.has(i)).length;
    const missing = Math.max(notAcked, notOnTopic);
    const p99 = pct(lat, 99);
    console.log(`commit-to-Kafka: ${lat.length} events measured at ${offered.toFixed(0)} events/s offered for ${SECONDS} s (+${WARMUP_SECONDS} s warm-up); append failures ${failed}${failed ? ` (${[...failureCodes].map(([c, n]) => `${c}: ${n}`).join(', ')})` : ''}; not acknowledged by Kafka ${notAcked}; not found on the topic by a consumer ${notOnTopic}${LIVE_CONSUMER ? ' (consuming during the run)' : ' (read after the run)'}; max appends in flight ${maxBacklog}`);
    console.log(`  commit returned → Kafka ack:     ${figures(lat)}`);
    console.log(`  transaction start → Kafka ack:   ${figures(fromTxStart)} (server clock, includes the INSERT and the COMMIT's flush)`);
    if (LIVE_CONSUMER) console.log(`  commit returned → consumer:      ${figures(span(committedAt, receivedAt))}`);
    const stage = (from: Map<string, number>, to: Map<string, number>): string => {
      const xs = span(from, to);
      return `p50 ${pct(xs, 50).toFixed(1)} / p99 ${pct(xs, 99).toFixed(1)} ms`;
    };
    console.log(`  stages: commit → relay decoded ${stage(committedAt, relayedAt)} | relay → Kafka ack (linger + send) ${stage(relayedAt, ackedAt)}${LIVE_CONSUMER ? ` | Kafka ack → consumer ${stage(ackedAt, receivedAt)}` : ''}`);
    const cpuUsed = Object.entries(cpuBefore).map(([k, v]) => [k, (cpuAfter as Record<string, number>)[k]! - v] as const);
    const cpuPerEvent = cpuUsed.map(([k, v]) => `${k} ${((v * 1e6) / issued).toFixed(0)}`);
    const cpuTotal = cpuUsed.reduce((n, [, v]) => n + v, 0);
    console.log(`  CPU µs per event (whole run incl. warm-up): ${cpuPerEvent.join(' | ')} | sum ${((cpuTotal * 1e6) / issued).toFixed(0)} µs = ${((cpuTotal * 1e6) / issued / 1000).toFixed(2)} cores at 1,000/s`);
    console.log(`  event-loop delay of this process (load generator; relay and consumer are processes of their own): p50 ${(loopDelay.percentile(50) / 1e6).toFixed(1)} / p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} / max ${(loopDelay.max / 1e6).toFixed(1)} ms`);
    console.log(`  target p99 ≤ 100 ms at ${RATE}/s (commit returned → Kafka ack, nothing missing): ${p99 <= 100 && missing === 0 ? 'MET' : 'NOT MET'}`);
  } finally {
    if (consumer && consumer.exitCode === null) {
      const gone = new Promise((r) => consumer!.once('exit', r));
      consumer.kill('SIGTERM');
      await Promise.race([gone, sleep(5_000)]);
      if (consumer.exitCode === null) consumer.kill('SIGKILL');
    }
    if (relayProc && relayProc.exitCode === null) {
      const gone = new Promise((r) => relayProc!.once('exit', r));
      relayProc.kill('SIGTERM');
      await Promise.race([gone, sleep(5_000)]);
      if (relayProc.exitCode === null) relayProc.kill('SIGKILL');
    }
    await dropReplication(db, slot, publication).catch(() => undefined);
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db.close();
    const admin = await connectAdmin(kafka);
    await admin.deleteTopics([topic]).catch(() => undefined);
    await admin.disconnect();
  }
}

const BenchEvent = defineEvent({ type: 'com.bulwark.bench.tick', version: 1, schema: z.object({ n: z.number().int(), orderId: z.string(), note: z.string() }) });
const benchSchemas = createEventRegistry([BenchEvent]);

async function throughput(brokers: string[], id: string): Promise<void> {
  const topic = `bench.cdc.${id}.produce`;
  const kafka = createKafka({ brokers, clientId: `bench-produce-${id}` });
  const admin = await connectAdmin(kafka);
  await provisionTopics(admin, [{ name: topic, partitions: 6 }]);
  const keys = Array.from({ length: 100 }, () => randomUUID());
  const data = (n: number) => ({ n, orderId: keys[n % keys.length]!, note: 'x'.repeat(120) });

  /**
   * `window` 500: publishes go out 500 at a time, the next 500 once those are acknowledged — the shape of the raw
   * loop (one batch of 500 built, sent and awaited at a time), so both hold the same number of events in memory.
   * `window` = all: the whole round is published at once (20,000 envelopes, spans and promises alive together).
   */
  const wrapperRound = async (window: number): Promise<{ rate: number; cpuUs: number }> => {
    const producer = createProducer({ kafka, schemas: benchSchemas, source: '/bulwark/bench', registry: new Registry(), log: silent });
    await producer.publish(topic, BenchEvent, data(0), { key: keys[0]! }); // connect outside the clock
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let from = 0; from < PRODUCE_EVENTS; from += window) {
      await Promise.all(Array.from({ length: Math.min(window, PRODUCE_EVENTS - from) }, (_, i) => producer.publish(topic, BenchEvent, data(from + i), { key: keys[(from + i) % keys.length]! })));
    }
    const rate = PRODUCE_EVENTS / ((performance.now() - started) / 1000);
    const used = process.cpuUsage(cpu);
    await producer.close();
    return { rate, cpuUs: (used.user + used.system) / PRODUCE_EVENTS };
  };
  const rawRound = async (): Promise<{ rate: number; cpuUs: number }> => {
    const client = new kafkajs.Kafka({ clientId: `bench-raw-${id}`, brokers, logLevel: kafkajs.logLevel.NOTHING });
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    const record = (n: number) =>
      toKafkaRecord({
        specversion: '1.0',
        id: randomUUID(),
        source: '/bulwark/bench',
        type: BenchEvent.type,
        subject: keys[n % keys.length]!,
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        dataschema: BenchEvent.dataschema,
        dataversion: 1,
        traceparent: undefined,
        tracestate: undefined,
        data: data(n),
      });
    await producer.send({ topic, acks: -1, messages: [record(0)] });
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let from = 0; from < PRODUCE_EVENTS; from += 500) {
      const messages = Array.from({ length: Math.min(500, PRODUCE_EVENTS - from) }, (_, i) => record(from + i));
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
    }
    const rate = PRODUCE_EVENTS / ((performance.now() - started) / 1000);
    const used = process.cpuUsage(cpu);
    await producer.disconnect();
    return { rate, cpuUs: (used.user + used.system) / PRODUCE_EVENTS };
  };

  type Figure = { rate: number; cpuUs: number };
  const variants = {
    raw: rawRound,
    'wrapper, windows of 500': () => wrapperRound(500),
    'wrapper, all at once': () => wrapperRound(PRODUCE_EVENTS),
  } as const;
  type Variant = keyof typeof variants;
  const names = Object.keys(variants) as Variant[];
  const results = new Map<Variant, Figure[]>(names.map((n) => [n, []]));
  try {
    // Warm-up round of each (JIT, connections, the topic's first segments), not counted.
    for (const name of names) await variants[name]();
    for (let r = 0; r < PRODUCE_ROUNDS; r++) {
      const order = names.map((_, k) => names[(k + r) % names.length]!);
      for (const name of order) results.get(name)!.push(await variants[name]());
      console.log(`  round ${r + 1}: ${names.map((n) => `${n} ${results.get(n)!.at(-1)!.rate.toFixed(0)} events/s (${results.get(n)!.at(-1)!.cpuUs.toFixed(1)} µs CPU/event)`).join(' | ')}`);
    }
    const raw = results.get('raw')!;
    console.log(`producer throughput (${PRODUCE_EVENTS} events/round, ${PRODUCE_ROUNDS} rounds after a warm-up round, order turning each round), medians: ${names.map((n) => `${n} ${median(results.get(n)!.map((x) => x.rate)).toFixed(0)} events/s`).join(', ')}`);
    for (const name of names.filter((n) => n !== 'raw')) {
      const mine = results.get(name)!;
      const ratios = mine.map((x, i) => x.rate / raw[i]!.rate);
      const perRound = median(ratios);
      const cpuRatio = median(mine.map((x, i) => raw[i]!.cpuUs / x.cpuUs));
      const target = name === 'wrapper, windows of 500' ? ` (target ≥ 0.9×, same shape as the raw loop) ${perRound >= 0.9 ? 'MET' : 'NOT MET'}` : '';
      console.log(`  ${name} / raw: median of per-round ratios ${perRound.toFixed(2)}× (range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}), ratio of medians ${(median(mine.map((x) => x.rate)) / median(raw.map((x) => x.rate))).toFixed(2)}×, by CPU per event (raw/wrapper) ${cpuRatio.toFixed(2)}×${target}`);
    }
  } finally {
    await admin.deleteTopics([topic]).catch(() => undefined);
    await admin.disconnect();
  }
}

export default async function bench(): Promise<void> {
  const env = await ensureInfra(['postgres', 'kafka']);
  const brokers = env.BULWARK_KAFKA_BROKERS!.split(',');
  const id = `${process.pid}_${randomUUID().slice(0, 6)}`;
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores shared with the other helpers)`);
  console.log(`cdc bench: ${RATE} events/s for ${SECONDS} s through the CDC relay; then producer throughput, ${PRODUCE_ROUNDS} rounds`);
  if (process.env.BENCH_PART !== 'produce') await latency(env.BULWARK_PG_URL!, brokers, id);
  if (process.env.BENCH_PART !== 'latency') await throughput(brokers, id.replaceAll('_', '-'));
}
