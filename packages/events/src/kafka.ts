/**
 * The only module that imports kafkajs. Callers see `EventsKafka` (an opaque
 * connection handle) and the package's own producer, consumer and admin
 * interfaces; internally, admin.ts, producer.ts, consumer.ts and replay.ts
 * drive the Raw* objects handed out here. Swapping the client (README,
 * "Kafka client") means rewriting this module and those internals, not any
 * caller.
 */
import kafkajs, { type Admin, type Consumer, type ConsumerConfig, type Kafka, type LogEntry, type Producer } from 'kafkajs';
import { silentLogger, type Logger } from '@bulwark/service-kit/logging';
import { fixRequestQueue } from './kafkajs-request-queue.ts';

fixRequestQueue(); // kafkajs 2.2.4 spins a negative setTimeout per connection (see that module)

const { Kafka: KafkaClient, logLevel, ConfigResourceTypes } = kafkajs;

/** DescribeConfigs/AlterConfigs resource type of a topic. */
export const TOPIC_RESOURCE = ConfigResourceTypes.TOPIC;


export interface KafkaOptions {
  /** `host:port` of the bootstrap brokers. */
  brokers: readonly string[];
  /** Names this process to the brokers (quotas, logs). */
  clientId: string;
  log?: Logger;
  /** TCP connect timeout; default 3 s. */
  connectionTimeoutMs?: number;
  /** Per-request timeout; default 30 s. */
  requestTimeoutMs?: number;
}

/** A Kafka cluster to talk to. Create one per process and share it. */
export interface EventsKafka {
  readonly clientId: string;
  readonly brokers: readonly string[];
  readonly log: Logger;
}

const clients = new WeakMap<EventsKafka, Kafka>();

export function createKafka(options: KafkaOptions): EventsKafka {
  const log = options.log ?? silentLogger;
  const client = new KafkaClient({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const obj = { kafka: entry.namespace, ...rest };
      if (entry.level <= logLevel.ERROR) log.error(obj, message);
      else if (entry.level === logLevel.WARN) log.warn(obj, message);
      else log.debug(obj, message);
    },
  });
  const handle: EventsKafka = { clientId: options.clientId, brokers: [...options.brokers], log };
  clients.set(handle, client);
  return handle;
}

function clientOf(kafka: EventsKafka): Kafka {
  const client = clients.get(kafka);
  if (!client) throw new Error('not a connection created by @bulwark/events createKafka()');
  return client;
}

/**
 * An idempotent producer: acks=all is enforced per send, retries stay
 * unbounded (kafkajs warns that limiting them voids idempotence) and one
 * request in flight per connection keeps sequence numbers in order.
 */
export function rawIdempotentProducer(kafka: EventsKafka): Producer {
  return clientOf(kafka).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
}

export function rawConsumer(kafka: EventsKafka, config: ConsumerConfig): Consumer {
  return clientOf(kafka).consumer({ allowAutoTopicCreation: false, ...config });
}

export function rawAdmin(kafka: EventsKafka): Admin {
  return clientOf(kafka).admin();
}

export type { Admin as RawAdmin, Consumer as RawConsumer, Producer as RawProducer };
