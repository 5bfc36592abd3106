/**
 * Reads a topic from its beginning until `count` records arrived (or a
 * deadline passes, with what was seen in the error), as a consumer group of
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

export async function readTopic<T = unknown>(topic: string, count: number, options: { deadlineMs?: number; clientId?: string } = {}): Promise<TopicRecord<T>[]> {
  const kafka = new Kafka({ brokers: kafkaBrokers(), clientId: options.clientId ?? 'test-topic-reader', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${suffix()}`, sessionTimeout: 6_000, rebalanceTimeout: 5_000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: TopicRecord<T>[] = [];
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ type: String(message.headers?.ce_type), key: String(message.key), data: JSON.parse(String(message.value)) as T });
        if (seen.length >= count) resolve();
      },
    });
  });
  const deadline = new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`saw ${seen.length} of ${count} records on ${topic}: ${JSON.stringify(seen).slice(0, 2000)}`)), options.deadlineMs ?? 45_000).unref());
  try {
    await Promise.race([done, deadline]);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}
