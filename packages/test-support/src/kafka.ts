/**
 * Reads a topic from its beginning until `until` holds (a number: that many
 * records arrived; a predicate: it is true of the records so far), or a
 * deadline passes, with what was seen in the error, as a consumer group of
 * its own with the short timings the local broker allows. The CloudEvents
 * type comes from the `ce_type` header; the value is parsed as JSON.
 */
import { Kafka, logLevel } from 'kafkajs';
import { kafkaBrokers, suffix } from './env.ts';

export interface TopicRecord<T = unknown> {
  type: string;
  key: string;
  data: T;
}

export async function readTopic<T = unknown>(topic: string, until: number | ((seen: TopicRecord<T>[]) => boolean), options: { deadlineMs?: number; clientId?: string } = {}): Promise<TopicRecord<T>[]> {
  const kafka = new Kafka({ brokers: kafkaBrokers(), clientId: options.clientId ?? 'test-topic-reader', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${suffix()}`, sessionTimeout: 6_000, rebalanceTimeout: 5_000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: TopicRecord<T>[] = [];
  const enough = typeof until === 'number' ? () => seen.length >= until : () => until(seen);
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ type: String(message.headers?.ce_type), key: String(message.key), data: JSON.parse(String(message.value)) as T });
        if (enough()) resolve();
      },
    });
  });
  const deadline = new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`saw ${seen.length}${typeof until === 'number' ? ` of ${until}` : ''} records on ${topic} without the ones awaited: ${JSON.stringify(seen).slice(0, 2000)}`)), options.deadlineMs ?? 45_000).unref());
  try {
    await Promise.race([done, deadline]);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/** Deletes the topics a test created (those already gone are fine). */
export async function deleteTopics(...topics: string[]): Promise<void> {
  const admin = new Kafka({ brokers: kafkaBrokers(), clientId: 'test-topic-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
