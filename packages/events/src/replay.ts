/**
 * Moves dead letters back to the topic they were first published to, so the
 * group handles them again once the cause is fixed. Reads the dead-letter
 * topic from the beginning up to its end at call time with a throwaway
 * consumer group (deleted afterwards), so it keeps no state: replaying twice
 * republishes twice, and the processed-event store turns the second copy of
 * an already handled event into a no-op.
 */
import type { Logger } from '@bulwark/service-kit/logging';
import { randomUUID } from 'node:crypto';
import { connectAdmin } from './admin.ts';
import { fromKafkaRecord, headersToStrings, type CloudEvent } from './envelope.ts';
import { rawAdmin, rawConsumer, rawIdempotentProducer, type EventsKafka } from './kafka.ts';
import { deadLetterTopicName, replayHeaders, RETRY_HEADERS } from './retry.ts';

/** A dead letter as the filter sees it. `event` is undefined when the envelope itself was unreadable. */
export interface DeadLetter {
  event: CloudEvent | undefined;
  headers: Record<string, string>;
  reason: string | undefined;
  attempt: number;
  originalTopic: string;
  originalPartition: number | undefined;
  originalOffset: string | undefined;
  failedAt: string | undefined;
}

export interface ReplayOptions {
  kafka: EventsKafka;
  /** The original topic whose dead letters to replay. */
  topic: string;
  group: string;
  /** Only letters for which this returns true are replayed; default all. */
  filter?: (letter: DeadLetter) => boolean;
  /** Count what would be replayed, send nothing. */
  dryRun?: boolean;
  log?: Logger;
}

export interface ReplayResult {
  deadLetterTopic: string;
  scanned: number;
  replayed: number;
}

function toDeadLetter(topic: string, headers: Record<string, string>, key: Buffer | null, value: Buffer | null): DeadLetter {
  let event: CloudEvent | undefined;
  try {
    event = fromKafkaRecord({ key: key?.toString('utf8') ?? null, value, headers });
  } catch {
    event = undefined;
  }
  const partition = headers[RETRY_HEADERS.originalPartition];
  return {
    event,
    headers,
    reason: headers[RETRY_HEADERS.errorReason],
    attempt: Number(headers[RETRY_HEADERS.attempt] ?? 0),
    originalTopic: headers[RETRY_HEADERS.originalTopic] ?? topic,
    originalPartition: partition === undefined ? undefined : Number(partition),
    originalOffset: headers[RETRY_HEADERS.originalOffset],
    failedAt: headers[RETRY_HEADERS.failedAt],
  };
}

export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
  const log = options.log ?? options.kafka.log;
  const dlq = deadLetterTopicName(options.topic, options.group);
  const result: ReplayResult = { deadLetterTopic: dlq, scanned: 0, replayed: 0 };

  const raw = rawAdmin(options.kafka);
  await raw.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await raw.fetchTopicOffsets(dlq);
    ends = new Map(offsets.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await raw.disconnect();
  }
  if (ends.size === 0) return result;

  const replayGroup = `${options.group}.dlq-replay.${randomUUID()}`;
  const producer = rawIdempotentProducer(options.kafka);
  const consumer = rawConsumer(options.kafka, { groupId: replayGroup, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 500 });
  await producer.connect();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [dlq], fromBeginning: true });
    let failed: unknown;
    const done = new Promise<void>((resolve, reject) => {
      const remaining = new Set(ends.keys());
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const end = ends.get(batch.partition);
          if (end === undefined) return;
          try {
            for (const message of batch.messages) {
              if (BigInt(message.offset) >= end) break;
              result.scanned++;
              const headers = headersToStrings(message.headers);
              const letter = toDeadLetter(options.topic, headers, message.key, message.value);
              if (options.filter && !options.filter(letter)) continue;
              result.replayed++;
              if (!options.dryRun) {
                await producer.send({ topic: letter.originalTopic, acks: -1, messages: [{ key: message.key, value: message.value, headers: replayHeaders(headers, Date.now()) }] });
              }
            }
            const last = batch.messages.at(-1);
            if (last && BigInt(last.offset) + 1n >= end) {
              remaining.delete(batch.partition);
              if (remaining.size === 0) resolve();
            }
          } catch (err) {
            failed = err;
            reject(err);
          }
        },
      }).catch(reject);
    });
    await done;
    if (failed) throw failed;
    log.info({ ...result, group: options.group }, 'dead letters replayed');
    return result;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    const admin = await connectAdmin(options.kafka);
    await admin.deleteGroups([replayGroup]);
    await admin.disconnect();
  }
}
