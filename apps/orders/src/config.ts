/**
 * Every configuration key of the orders service, with type, default and
 * meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@bulwark/service-kit';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const ordersConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL; the role must be allowed to replicate when the relay runs.'),
  KAFKA_BROKERS: z.string().min(1).optional().describe('Comma-separated host:port of Kafka bootstrap brokers; required when RELAY_ENABLED.'),
  ORDERS_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('orders').describe('PostgreSQL schema holding the event store and read models.'),
  ORDERS_TOPIC: z.string().min(1).default('orders.events').describe('Kafka topic the CDC relay publishes order events to.'),
  ORDERS_TOPIC_PARTITIONS: z.coerce.number().int().positive().default(6).describe('Partitions of ORDERS_TOPIC when provisioning it.'),
  SNAPSHOT_EVERY: z.coerce.number().int().min(0).default(50).describe('Take an aggregate snapshot every N events (0 = never).'),
  PROJECTOR_ENABLED: flag.default(true).describe('Run the projection loops in this process.'),
  PROJECTOR_BATCH_SIZE: z.coerce.number().int().positive().default(500).describe('Events applied per projection transaction.'),
  PROJECTOR_POLL_MS: z.coerce.number().int().positive().default(100).describe('Idle poll interval of a caught-up projector.'),
  RELAY_ENABLED: flag.default(true).describe('Run the CDC relay (logical replication → Kafka) in this process.'),
  RELAY_SLOT: z.string().regex(/^[a-z0-9_]+$/).default('orders_relay').describe('Logical replication slot of the relay.'),
  RELAY_PUBLICATION: z.string().regex(/^[a-z0-9_]+$/).default('orders_events').describe('Publication of the event table.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(20).describe('Largest PostgreSQL pool size.'),
});

export type OrdersConfig = z.output<typeof ordersConfigSchema>;

export function loadOrdersConfig(env: Record<string, string | undefined> = process.env): OrdersConfig {
  return loadConfig(ordersConfigSchema, env);
}
