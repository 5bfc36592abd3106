/**
 * The CDC relay of bench/cdc.ts in a process of its own, as in production
 * (the orders service runs it; the writers are other processes), so the
 * bench's load generator does not starve it. Configured by argv as JSON;
 * prints `streaming` once the replication stream is open, then `acked <n>`
 * (events Kafka confirmed so far) every 100 ms; on `stop` read from
 * stdin it stops, prints one JSON line with the epoch ms at which each event
 * was handed to the producer and acknowledged by Kafka, and exits.
 */
import readline from 'node:readline';
import { Registry } from 'prom-client';
import { createKafka, createProducer, type EventProducer } from '@bulwark/events';
import { silent } from '@bulwark/test-support';
import { orderEventSchemas } from '../../apps/orders/src/domain/events.ts';
import { createCdcRelay } from '../../apps/orders/src/relay/cdc-relay.ts';

interface Args {
  pgUrl: string;
  brokers: string[];
  schema: string;
  slot: string;
  publication: string;
  topic: string;
  clientId: string;
}

const args = JSON.parse(process.argv[2]!) as Args;
const clock = (): number => performance.timeOrigin + performance.now();

const kafka = createKafka({ brokers: args.brokers, clientId: args.clientId });
const inner = createProducer({ kafka, schemas: orderEventSchemas, source: '/bulwark/orders', registry: new Registry(), log: silent });
/** [event id, epoch ms handed to the producer, epoch ms of the event's recorded_at (its transaction's start, server clock)]. */
const relayed: [string, number, number][] = [];
const acked: [string, number][] = [];
const producer: EventProducer = {
  publish(topic, def, data, opts) {
    const id = opts.id!;
    relayed.push([id, clock(), opts.time?.getTime() ?? NaN]);
    return inner.publish(topic, def, data, opts).then((e) => {
      acked.push([id, clock()]);
      return e;
    });
  },
  flush: () => inner.flush(),
  close: () => inner.close(),
};
const relay = createCdcRelay({ connectionString: args.pgUrl, schema: args.schema, slot: args.slot, publication: args.publication, producer, topic: args.topic, log: silent });
relay.start();
const announce = setInterval(() => {
  if (!relay.streaming) return;
  clearInterval(announce);
  process.stdout.write('streaming\n');
}, 20);
// How many events Kafka has confirmed so far, for the bench to know when the run is through.
setInterval(() => process.stdout.write(`acked ${acked.length}\n`), 100).unref();

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line !== 'stop') return;
  void (async () => {
    await relay.stop();
    await producer.close().catch(() => undefined);
    process.stdout.write(`${JSON.stringify({ relayed, acked })}\n`, () => process.exit(0));
  })();
});
