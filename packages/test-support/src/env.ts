/**
 * Where the shared test servers are: Jest's global setup starts PostgreSQL,
 * Redis and Kafka (scripts/infra) and hands their addresses to the tests
 * through the environment. Each getter fails with the fix when run outside
 * `npm test`.
 */
import { randomUUID } from 'node:crypto';

function fromEnv(name: string, server: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests with \`npm test\` so global setup starts ${server}`);
  return value;
}

/** The owner (superuser) URL of the shared PostgreSQL. */
export function pgUrl(): string {
  return fromEnv('BULWARK_PG_URL', 'PostgreSQL');
}

/** The shared Redis. */
export function redisUrl(): string {
  return fromEnv('BULWARK_REDIS_URL', 'Redis');
}

/** The shared Kafka's bootstrap brokers. */
export function kafkaBrokers(): string[] {
  return fromEnv('BULWARK_KAFKA_BROKERS', 'Kafka').split(',');
}

/**
 * Consumer group timings (@bulwark/events createConsumer options) that keep
 * joins, rebalances and shutdown quick against the one local broker.
 */
export const fastConsumer = {
  sessionTimeoutMs: 6_000,
  rebalanceTimeoutMs: 5_000,
  heartbeatIntervalMs: 300,
  maxWaitTimeMs: 100,
  lagIntervalMs: 0,
} as const;

/** A short random suffix that isolates a test's schema, prefix, topic or group on the shared servers. */
export function suffix(length = 10): string {
  return randomUUID().replaceAll('-', '').slice(0, length);
}
