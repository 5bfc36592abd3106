/**
 * Purges from Kafka: every edge instance reads the purge topics in a group
 * of its own (its memory is its own), from the latest offset, and drops the
 * objects tagged with an event's `data.surrogateKeys`. Any event type may
 * carry them (content's article changes do); events without are skipped.
 * Purging twice is harmless, so there is no processed-event store.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { fromKafkaRecord, headersToStrings, rawConsumer, type EventsKafka } from '@bulwark/events';
import { backoffDelay } from '@bulwark/service-kit/backoff';
import type { EdgeStore } from '../cache/store.ts';
import type { EdgeMetrics } from '../metrics.ts';

export interface PurgeConsumer {
  /** Joins in the background; resolves once joined or after `waitMs`, whichever is first (Kafka away must not keep the edge unready). */
  startInBackground(waitMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** The surrogate keys an event names (`data.surrogateKeys`: strings), empty when it names none. */
export function surrogateKeysOf(data: unknown): string[] {
  if (typeof data !== 'object' || data === null) return [];
  const keys = (data as { surrogateKeys?: unknown }).surrogateKeys;
  return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string' && k.length > 0) : [];
}

export function createPurgeConsumer(options: { kafka: EventsKafka; topics: readonly string[]; groupPrefix: string; store: EdgeStore; metrics: EdgeMetrics; log: Logger; maxWaitTimeMs?: number }): PurgeConsumer {
  const { store, metrics, log } = options;
  const group = `${options.groupPrefix}-${randomUUID()}`;
  const consumer = rawConsumer(options.kafka, { groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: options.maxWaitTimeMs ?? 500 });
  let stopped = false;

  async function start(): Promise<void> {
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message, topic }) => {
        let keys: string[];
        try {
          const event = fromKafkaRecord({ key: message.key?.toString('utf8') ?? null, value: message.value, headers: headersToStrings(message.headers) });
          keys = surrogateKeysOf(event.data);
        } catch (err) {
          log.warn({ err, topic, offset: message.offset }, 'undecodable purge event skipped');
          return;
        }
        let purged = 0;
        for (const key of keys) purged += store.purgeTag(key);
        if (keys.length > 0) {
          metrics.purged.inc({ source: 'kafka' }, purged);
          metrics.storeObjects.set(store.objects);
          metrics.storeBytes.set(store.bytes);
          log.debug({ keys, purged }, 'purged from an event');
        }
      },
    });
    await joined;
    log.info({ group, topics: options.topics }, 'purge consumer joined its group');
  }

  return {
    async startInBackground(waitMs) {
      const running = (async () => {
        for (let attempt = 1; !stopped; attempt++) {
          try {
            await start();
            return;
          } catch (err) {
            const delayMs = backoffDelay(attempt, { baseMs: 500, capMs: 30_000, jitter: 'equal' });
            log.error({ err, attempt, delayMs }, 'purge consumer could not join; purges by API only until it does');
            await consumer.disconnect().catch(() => undefined);
            await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
          }
        }
      })();
      await Promise.race([running, new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
    },
    async stop() {
      stopped = true;
      await consumer.disconnect().catch(() => undefined);
    },
  };
}
