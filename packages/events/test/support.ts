/**
 * Test helpers: the servers from global setup, a random suffix per test for
 * topics, groups and schemas, and a bounded poll. Nothing here fakes Kafka or
 * PostgreSQL.
 */
import { Registry } from 'prom-client';
import { createPool, type DbPool } from '@bulwark/db';
import { captureLog, fastConsumer, kafkaBrokers as brokers, pgUrl, suffix } from '@bulwark/test-support';
import { connectAdmin, createKafka, createProducer, migrateProcessedEventStore, provisionTopics, type EventProducer, type EventRegistry, type EventsKafka, type ProducerOptions, type TopicAdmin, type TopicSpec } from '../src/index.ts';

export { kafkaBrokers as brokers, fastConsumer, pgUrl, suffix, captureLog, waitFor, registryValue as metricValue, type LogEntry } from '@bulwark/test-support';


/** Everything one test needs, named with its own suffix, and a cleanup that removes it all. */
export interface TestEnv {
  id: string;
  kafka: EventsKafka;
  admin: TopicAdmin;
  pool: DbPool;
  schema: string;
  registry: Registry;
  log: ReturnType<typeof captureLog>;
  topic(name: string): string;
  group(name: string): string;
  createTopics(specs: TopicSpec[]): Promise<void>;
  /** The consumer options every test shares: this env's Kafka, store, metrics and fast group timings. */
  consumerBase(group: string, topics: string[]): typeof fastConsumer & { kafka: EventsKafka; group: string; topics: string[]; pool: DbPool; storeSchema: string; registry: Registry };
  /** A producer on this env's Kafka and registry, closed at cleanup. */
  producer(schemas: EventRegistry, options?: Partial<Omit<ProducerOptions, 'kafka' | 'schemas' | 'registry'>>): EventProducer;
  /** Runs at cleanup, before topics and schema go (stop consumers, close producers). */
  defer(fn: () => Promise<unknown>): void;
  cleanup(): Promise<void>;
}

export async function setupEnv(): Promise<TestEnv> {
  const id = suffix();
  const log = captureLog();
  const kafka = createKafka({ brokers: brokers(), clientId: `events-test-${id}`, log });
  const admin = await connectAdmin(kafka);
  const schema = `events_${id}`;
  const registry = new Registry();
  const pool = createPool({ connectionString: pgUrl(), name: `events_${id}`, registry, log, max: 5 });
  await migrateProcessedEventStore({ pool, schema });
  const groups: string[] = [];
  const deferred: (() => Promise<unknown>)[] = [];
  const prefix = `test.${id}.`;
  return {
    id,
    kafka,
    admin,
    pool,
    schema,
    registry,
    log,
    topic: (name) => `${prefix}${name}`,
    group: (name) => {
      const g = `g-${name}-${id}`;
      groups.push(g);
      return g;
    },
    async createTopics(specs) {
      await provisionTopics(admin, specs);
    },
    consumerBase: (group, topics) => ({ ...fastConsumer, kafka, group, topics, pool, storeSchema: schema, registry }),
    producer(schemas, options = {}) {
      const producer = createProducer({ kafka, schemas, source: '/bulwark/test', registry, ...options });
      deferred.push(() => producer.close());
      return producer;
    },
    defer: (fn) => void deferred.push(fn),
    async cleanup() {
      for (const fn of deferred.reverse()) await fn().catch(() => undefined);
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      await admin.deleteTopics(topics);
      await admin.deleteGroups(groups);
      await admin.disconnect();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.close();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
