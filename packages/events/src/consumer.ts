/**
 * The at-least-once consumer. For each partition, in order: decode the
 * CloudEvent, upcast its data to the latest version, and run the handler in
 * one PostgreSQL transaction together with the processed-event mark, inside
 * the producer's trace context. Offsets are committed only after handling
 * (end of each batch and on shutdown), so a crash redelivers and the mark
 * turns the redelivery into a no-op. A failing handler sends the event to
 * the group's retry topics (each with its delay, honoured by pausing the
 * partition until the due time) and finally to its dead-letter topic.
 */
import type { Logger } from '@bulwark/service-kit/logging';
import { context } from '@opentelemetry/api';
import { withTransaction, type DbClient, type DbPool, type TransactionOptions } from '@bulwark/db';
import type { Registry } from 'prom-client';
import { connectAdmin, fetchConsumerLag, provisionTopics, type PartitionLag, type TopicAdmin, type TopicSpec } from './admin.ts';
import { fromKafkaRecord, headersToStrings, type CloudEvent } from './envelope.ts';
import { EventDecodeError, NonRetryableError } from './errors.ts';
import { rawConsumer, rawIdempotentProducer, type EventsKafka, type RawConsumer, type RawProducer } from './kafka.ts';
import { metricsFor } from './metrics.ts';
import { markProcessed, processedTable } from './processed-store.ts';
import type { EventDefinition, EventRegistry } from './registry.ts';
import {
  attemptsSoFar,
  deadLetterTopicName,
  failureHeaders,
  planFailure,
  RETRY_HEADERS,
  retryPolicy,
  retryTopicName,
  type RetryPolicy,
} from './retry.ts';
import { endSpan, ensureContextManager, startProcessSpan } from './trace.ts';

/** What a handler's prepare step knows: no transaction is open yet. */
export interface PrepareContext {
  /** 1 on first delivery, then one more per retry. */
  attempt: number;
  /** The topic the event was first published to. */
  topic: string;
  log: Logger;
}

export interface HandlerContext<TPrepared = unknown> extends PrepareContext {
  /** The transaction that also marks the event processed: write through it and both commit together. */
  db: DbClient;
  /** What the handler's prepare step returned (undefined without one). */
  prepared: TPrepared;
}

export interface EventHandler {
  readonly definition: EventDefinition;
  /**
   * Runs before the transaction opens, for work that waits on something slow (a call to another
   * service): a transaction held open across it would hold a pooled connection and the database's
   * oldest-transaction horizon for as long. Its result reaches `handle` as `ctx.prepared`; a throw
   * is a failed attempt like one from `handle`. It also runs for a redelivered event that turns out
   * to be a duplicate, so it must only read.
   */
  readonly prepare?: (event: CloudEvent, ctx: PrepareContext) => Promise<unknown>;
  readonly handle: (event: CloudEvent, ctx: HandlerContext) => Promise<void>;
}

/** Pairs the latest definition of a type with its handler; the handler sees data upcast to that version. */
export function handle<TData, TPrepared = undefined>(
  definition: EventDefinition<string, TData>,
  fn: (event: CloudEvent<TData>, ctx: HandlerContext<TPrepared>) => Promise<void>,
  options: { prepare?: (event: CloudEvent<TData>, ctx: PrepareContext) => Promise<TPrepared> } = {},
): EventHandler {
  return {
    definition,
    handle: fn as (event: CloudEvent, ctx: HandlerContext) => Promise<void>,
    ...(options.prepare && { prepare: options.prepare as (event: CloudEvent, ctx: PrepareContext) => Promise<unknown> }),
  };
}

export interface ConsumerOptions {
  kafka: EventsKafka;
  /** Consumer group: the unit of offsets, retry/DLQ topics and processed-event marks. */
  group: string;
  /** Topics to read (they must exist; see provisionTopics). */
  topics: readonly string[];
  schemas: EventRegistry;
  /** One per event type; events of other types are skipped (and committed). */
  handlers: readonly EventHandler[];
  /** PostgreSQL pool holding the processed-event store (run migrateProcessedEventStore first). */
  pool: DbPool;
  /** Schema of the store; default public. */
  storeSchema?: string;
  registry: Registry;
  log?: Logger;
  /** Retry delays per level (default [1 s, 10 s, 60 s]) and total attempts (default levels + 1). */
  retry?: { delaysMs?: readonly number[]; maxAttempts?: number };
  /** Create the retry and dead-letter topics at start; default true. */
  provisionRetryTopics?: boolean;
  /** Retention of retry and dead-letter topics; default 14 days. */
  retryTopicRetentionMs?: number;
  /** A new group starts at the earliest offset (default) or the latest. */
  fromBeginning?: boolean;
  /** Partitions handled in parallel (each still in order); default 1. */
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits for data; bounds idle loops and shutdown. Default 1 s. */
  maxWaitTimeMs?: number;
  /** Consumer-lag gauge refresh; default 15 s, 0 turns it off. */
  lagIntervalMs?: number;
  /** Isolation and conflict retries of the handler transaction. */
  transaction?: TransactionOptions;
}

export interface EventConsumer {
  /** Every topic this consumer reads: the declared ones and its retry topics. */
  readonly subscribedTopics: readonly string[];
  /** Provisions retry/DLQ topics, joins the group and starts handling. Resolves once running. */
  start(): Promise<void>;
  /** Stops fetching, lets the in-flight batch finish, commits, leaves the group, disconnects. Idempotent. */
  stop(): Promise<void>;
  /** Current lag of the group on every subscribed partition (also refreshes the gauge). */
  lag(): Promise<PartitionLag[]>;
}

interface Source {
  original: string;
  /** 0 for the original topic, n for retry level n. */
  level: number;
}

interface RawMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  headers?: Record<string, unknown>;
}

const DAY_MS = 86_400_000;

/** The retry and dead-letter topics of a group on `topic`, for declarative provisioning. */
export function consumerTopicSpecs(topic: string, group: string, partitions: number, options: { delaysMs?: readonly number[]; retentionMs?: number } = {}): TopicSpec[] {
  const policy = retryPolicy({ delaysMs: options.delaysMs ?? undefined });
  const retentionMs = options.retentionMs ?? 14 * DAY_MS;
  const specs: TopicSpec[] = policy.delaysMs.map((_, i) => ({ name: retryTopicName(topic, group, i + 1), partitions, retentionMs, cleanupPolicy: 'delete' }));
  specs.push({ name: deadLetterTopicName(topic, group), partitions, retentionMs, cleanupPolicy: 'delete' });
  return specs;
}

export function createConsumer(options: ConsumerOptions): EventConsumer {
  const log = options.log ?? options.kafka.log;
  const metrics = metricsFor(options.registry);
  const policy: RetryPolicy = retryPolicy(options.retry);
  const table = processedTable(options.storeSchema ?? 'public');
  const group = options.group;

  const handlers = new Map<string, EventHandler>();
  for (const h of options.handlers) {
    const latest = options.schemas.latest(h.definition.type);
    if (latest !== h.definition) throw new Error(`handler for ${h.definition.type} must use its latest definition (v${latest?.version ?? '?'}), got v${h.definition.version}`);
    if (handlers.has(h.definition.type)) throw new Error(`two handlers for ${h.definition.type}`);
    handlers.set(h.definition.type, h);
  }

  const sources = new Map<string, Source>();
  for (const topic of options.topics) {
    sources.set(topic, { original: topic, level: 0 });
    if (policy.maxAttempts > 1) policy.delaysMs.forEach((_, i) => sources.set(retryTopicName(topic, group, i + 1), { original: topic, level: i + 1 }));
  }
  const subscribedTopics = [...sources.keys()];

  let consumer: RawConsumer | undefined;
  let producer: RawProducer | undefined;
  let admin: TopicAdmin | undefined;
  let lagTimer: NodeJS.Timeout | undefined;
  const resumeTimers = new Set<NodeJS.Timeout>();
  let started = false;
  let stopping: Promise<void> | undefined;
  // One send at a time: kafkajs' idempotent producer assigns sequence numbers per call.
  let sendChain: Promise<unknown> = Promise.resolve();

  const forward = (topic: string, message: RawMessage, headers: Record<string, string>): Promise<void> => {
    const send = sendChain.then(async () => {
      await producer!.send({ topic, acks: -1, messages: [{ key: message.key, value: message.value, headers }] });
    });
    sendChain = send.catch(() => undefined);
    return send;
  };

  const refreshLag = async (): Promise<PartitionLag[]> => {
    if (!admin) throw new Error('consumer not started');
    const lags = await fetchConsumerLag(admin, group, subscribedTopics);
    for (const l of lags) metrics.lag.set({ group, topic: l.topic, partition: String(l.partition) }, l.lag);
    return lags;
  };

  const fail = async (topic: string, partition: number, message: RawMessage, headers: Record<string, string>, source: Source, type: string, attempt: number, err: unknown): Promise<void> => {
    const retryable = !(err instanceof NonRetryableError) && !(err instanceof EventDecodeError);
    const plan = planFailure(policy, attempt, retryable);
    const now = Date.now();
    const ctx = { topic, partition, offset: message.offset, group, attempt, error: err, now };
    if (plan.kind === 'retry') {
      const target = retryTopicName(source.original, group, plan.level);
      await forward(target, message, failureHeaders(headers, ctx, now + plan.delayMs));
      metrics.consumed.inc({ group, topic: source.original, type, outcome: 'retried' });
      log.warn({ err, group, topic, partition, offset: message.offset, type, attempt, retryTopic: target, delayMs: plan.delayMs }, 'event handler failed; retry scheduled');
    } else {
      const target = deadLetterTopicName(source.original, group);
      await forward(target, message, failureHeaders(headers, ctx));
      metrics.consumed.inc({ group, topic: source.original, type, outcome: 'dead_lettered' });
      log.error({ err, group, topic, partition, offset: message.offset, type, attempt, deadLetterTopic: target }, 'event dead-lettered');
    }
  };

  const processMessage = async (topic: string, partition: number, message: RawMessage, headers: Record<string, string>, source: Source): Promise<void> => {
    const attempt = attemptsSoFar(headers) + 1;
    let envelope: CloudEvent;
    try {
      envelope = fromKafkaRecord({ key: message.key?.toString('utf8') ?? null, value: message.value, headers });
    } catch (err) {
      await fail(topic, partition, message, headers, source, headers.ce_type ?? 'unknown', attempt, err);
      return;
    }
    const handler = handlers.get(envelope.type);
    if (!handler) {
      metrics.consumed.inc({ group, topic: source.original, type: envelope.type, outcome: 'ignored' });
      return;
    }
    let event: CloudEvent;
    try {
      const decoded = options.schemas.decode(envelope.type, envelope.dataversion, envelope.data);
      event = { ...envelope, dataversion: decoded.version, data: decoded.data };
    } catch (err) {
      await fail(topic, partition, message, headers, source, envelope.type, attempt, err);
      return;
    }

    const { span, ctx } = startProcessSpan(event.type, topic, event);
    const startedAt = performance.now();
    try {
      const outcome = await context.with(ctx, async () => {
        const prepared = handler.prepare ? await handler.prepare(event, { attempt, topic: source.original, log }) : undefined;
        return withTransaction(options.pool, async (tx) => {
          const fresh = await markProcessed(tx, table, { group, eventId: event.id, type: event.type, topic: source.original });
          if (!fresh) return 'duplicate' as const;
          await handler.handle(event, { db: tx, attempt, topic: source.original, log, prepared });
          return 'handled' as const;
        }, options.transaction);
      });
      endSpan(span);
      metrics.handlerDuration.observe({ group, type: event.type, outcome }, (performance.now() - startedAt) / 1000);
      metrics.consumed.inc({ group, topic: source.original, type: event.type, outcome });
      if (outcome === 'duplicate') log.debug({ group, eventId: event.id, type: event.type, topic, partition, offset: message.offset }, 'duplicate event skipped');
    } catch (err) {
      endSpan(span, err);
      metrics.handlerDuration.observe({ group, type: event.type, outcome: 'error' }, (performance.now() - startedAt) / 1000);
      await fail(topic, partition, message, headers, source, event.type, attempt, err);
    }
  };

  const start = async (): Promise<void> => {
    if (started) throw new Error('consumer already started');
    started = true;
    ensureContextManager();
    admin = await connectAdmin(options.kafka);
    if ((options.provisionRetryTopics ?? true) && policy.maxAttempts >= 1) {
      const described = await admin.describeTopics(options.topics);
      const specs = described.flatMap((t) =>
        consumerTopicSpecs(t.name, group, t.partitions, { delaysMs: policy.delaysMs, retentionMs: options.retryTopicRetentionMs }).filter(
          (s) => policy.maxAttempts > 1 || !s.name.includes('.retry.'),
        ),
      );
      await provisionTopics(admin, specs);
    }
    producer = rawIdempotentProducer(options.kafka);
    await producer.connect();
    consumer = rawConsumer(options.kafka, {
      groupId: group,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
    });
    consumer.on(consumer.events.CRASH, (e) => log.error({ err: e.payload.error, group, restart: e.payload.restart }, 'event consumer crashed'));
    await consumer.connect();
    await consumer.subscribe({ topics: subscribedTopics, fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, uncommittedOffsets, isRunning, isStale, pause }) => {
        const source = sources.get(batch.topic);
        if (!source) return;
        try {
          for (const message of batch.messages) {
            if (!isRunning() || isStale()) break;
            const headers = headersToStrings(message.headers);
            if (source.level > 0) {
              const wait = Number(headers[RETRY_HEADERS.dueAt] ?? 0) - Date.now();
              if (wait > 0) {
                // Not due yet: stop this partition until it is; the unresolved message is fetched again on resume.
                const resume = pause();
                const timer = setTimeout(() => {
                  resumeTimers.delete(timer);
                  resume();
                }, wait);
                resumeTimers.add(timer);
                break;
              }
            }
            await processMessage(batch.topic, batch.partition, message, headers, source);
            resolveOffset(message.offset);
            await heartbeat();
          }
        } finally {
          await commitOffsetsIfNecessary(uncommittedOffsets()).catch((err: unknown) => {
            // Lost the partition (rebalance) or the coordinator: the next owner redelivers, the store dedups.
            log.warn({ err, group, topic: batch.topic, partition: batch.partition }, 'offset commit failed');
          });
        }
      },
    });
    const lagIntervalMs = options.lagIntervalMs ?? 15_000;
    if (lagIntervalMs > 0) {
      lagTimer = setInterval(() => {
        refreshLag().catch((err: unknown) => log.warn({ err, group }, 'consumer lag refresh failed'));
      }, lagIntervalMs);
      lagTimer.unref();
    }
    log.info({ group, topics: subscribedTopics }, 'event consumer started');
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (lagTimer) clearInterval(lagTimer);
      // disconnect() stops fetching, waits for the running batch (which commits), then leaves the group.
      await consumer?.disconnect();
      for (const timer of resumeTimers) clearTimeout(timer);
      resumeTimers.clear();
      await sendChain;
      await producer?.disconnect();
      await admin?.disconnect();
      log.info({ group }, 'event consumer stopped');
    })();
    return stopping;
  };

  return { subscribedTopics, start, stop, lag: refreshLag };
}
