#!/usr/bin/env node
/**
 * Replays a consumer group's dead letters to their original topic:
 *
 *   node packages/events/src/cli/replay-dlq.ts --brokers 127.0.0.1:19092 \
 *     --topic orders --group billing [--type com.bulwark.orders.order-placed] [--id <event id> ...] [--dry-run]
 *
 * Prints the result as JSON. Exit code 0 on success, 1 on failure, 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { createKafka } from '../kafka.ts';
import { replayDeadLetters } from '../replay.ts';

const usage = 'usage: replay-dlq --brokers host:port[,host:port] --topic <topic> --group <group> [--type <ce type>] [--id <event id>]... [--dry-run]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        brokers: { type: 'string' },
        topic: { type: 'string' },
        group: { type: 'string' },
        type: { type: 'string', multiple: true },
        id: { type: 'string', multiple: true },
        'dry-run': { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    console.error(usage);
    return 2;
  }
  if (!values.brokers || !values.topic || !values.group) {
    console.error(usage);
    return 2;
  }
  const types = new Set(values.type ?? []);
  const ids = new Set(values.id ?? []);
  const kafka = createKafka({ brokers: values.brokers.split(','), clientId: 'bulwark-replay-dlq' });
  const result = await replayDeadLetters({
    kafka,
    topic: values.topic,
    group: values.group,
    dryRun: values['dry-run'],
    filter: (letter) => (types.size === 0 || types.has(letter.event?.type ?? '')) && (ids.size === 0 || ids.has(letter.event?.id ?? '')),
  });
  console.log(JSON.stringify(result));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
