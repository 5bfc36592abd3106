/**
 * Every configuration key of the orders service, with type, default and
 * meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@bulwark/service-kit';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const ordersConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): no owner, no superuser, no BYPASSRLS, so row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the tables\' owner: migrations, grants, projection rebuilds; the CDC relay replicates through it (the role must be allowed to replicate when the relay runs).'),
  KAFKA_BROKERS: z.string().min(1).optional().describe('Comma-separated host:port of Kafka bootstrap brokers; required when RELAY_ENABLED.'),
  ORDERS_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('orders').describe('PostgreSQL schema holding the event store and read models.'),
  ORDERS_TOPIC: z.string().min(1).default('orders.events').describe('Kafka topic the CDC relay publishes order events to.'),
  ORDERS_TOPIC_PARTITIONS: z.coerce.number().int().positive().default(6).describe('Partitions of ORDERS_TOPIC when provisioning it.'),
  SNAPSHOT_EVERY: z.coerce.number().int().min(0).default(50).describe('Take an aggregate snapshot every N events (0 = never).'),
  PROJECTOR_ENABLED: flag.default(true).describe('Run the projection loops in this process.'),
  PROJECTOR_BATCH_SIZE: z.coerce.number().int().positive().default(500).describe('Events applied per projection transaction.'),
  PROJECTOR_POLL_MS: z.coerce.number().int().positive().default(100).describe('Idle poll interval of a caught-up projector.'),
  PROJECTOR_MAX_LAG_EVENTS: z.coerce.number().int().min(0).default(10_000).describe('/readyz fails while a projection is more than this many events behind the log (its read model serves stale data); 0 = lag never fails readiness.'),
  PROJECTOR_STUCK_AFTER_MS: z.coerce.number().int().min(0).default(60_000).describe('/readyz fails when a projector of this process has failed every batch for this long (database trouble, not a bad event: those are parked); 0 = never.'),
  RELAY_ENABLED: flag.default(true).describe('Run the CDC relay (logical replication → Kafka) in this process.'),
  RELAY_SLOT: z.string().regex(/^[a-z0-9_]+$/).default('orders_relay').describe('Logical replication slot of the relay.'),
  RELAY_PUBLICATION: z.string().regex(/^[a-z0-9_]+$/).default('orders_events').describe('Publication of the event table.'),
  RELAY_ACK_INTERVAL_MS: z.coerce.number().int().min(1).max(10_000).default(50).describe('Kafka-confirmed positions are acknowledged to PostgreSQL at most this often (the latest wins); lower = less slot lag, more status messages.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(20).describe('Largest PostgreSQL pool size.'),
  INVENTORY_URL: z.url().optional().describe('Base URL of the inventory service; with PAYMENTS_URL it enables the checkout saga.'),
  PAYMENTS_URL: z.url().optional().describe('Base URL of the payments service; with INVENTORY_URL it enables the checkout saga.'),
  SAGA_RUNNER_ENABLED: flag.default(true).describe('Run the checkout saga runner in this process (when the saga is configured).'),
  CHECKOUT_CURRENCY: z.string().length(3).default('EUR').describe('ISO currency of order totals sent to payments.'),
  SAGA_STEP_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000).describe('Timeout of one saga HTTP call.'),
  SAGA_DEADLINE_MS: z.coerce.number().int().positive().default(120_000).describe('Forward steps must finish this long after checkout; then the saga compensates and is counted as expired.'),
  SAGA_LEASE_MS: z.coerce.number().int().positive().default(15_000).describe('Lease of a runner on a saga; a crashed runner\'s sagas are resumed after it.'),
  SAGA_POLL_MS: z.coerce.number().int().positive().default(200).describe('Idle poll interval of the saga runner.'),
  SAGA_CONCURRENCY: z.coerce.number().int().positive().default(32).describe('Sagas one runner drives at once.'),
  SAGA_RETRY_BASE_MS: z.coerce.number().int().positive().default(200).describe('First retry delay of a failed step (doubles, capped).'),
  SAGA_RETRY_CAP_MS: z.coerce.number().int().positive().default(5_000).describe('Largest retry delay of a failed step.'),
  SAGA_RESERVATION_TTL_SECONDS: z.coerce.number().int().positive().default(900).describe('Hold time asked for stock reservations (longer than the saga deadline).'),
  SAGA_BREAKER_ERROR_PERCENT: z.coerce.number().int().min(1).max(100).default(50).describe('Circuit opens above this % of transient failures…'),
  SAGA_BREAKER_VOLUME: z.coerce.number().int().positive().default(20).describe('…once this many calls were seen in the window.'),
  SAGA_BREAKER_RESET_MS: z.coerce.number().int().positive().default(5_000).describe('Open circuit tries a call again after this long.'),
  SAGA_BREAKERS_ENABLED: flag.default(true).describe('Benchmark baseline only (`npm run bench -- checkout`): false calls inventory and payments without circuit breakers, keeping the timeouts. Never false in a deployment.'),
  IDEMPOTENCY_ENABLED: flag.default(true).describe('Benchmark baseline only (`npm run bench -- checkout`): false replaces the Idempotency-Key store by a plain request transaction, so a retried request runs twice. Never false in a deployment.'),
  IDENTITY_URL: z.url().optional().describe("Base URL of identity: the saga's client-credentials token comes from its /oidc/token (inventory's and payments' internal routes require it). Required when the saga runner runs."),
  IDENTITY_CLIENT_ID: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).default('orders').describe("orders' client id at identity (an OIDC_SERVICE_CLIENTS entry there)."),
  IDENTITY_CLIENT_SECRET: z.string().min(32).optional().describe("orders' client secret at identity (client credentials, client_secret_basic). Never logged. Required when the saga runner runs."),
  IDENTITY_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000).describe('Timeout of one token request to identity.'),
}).superRefine((c, ctx) => {
  // The saga's calls are refused without orders' service token: a runner without one could not move a single order.
  if (c.INVENTORY_URL && c.PAYMENTS_URL && c.SAGA_RUNNER_ENABLED) {
    for (const key of ['IDENTITY_URL', 'IDENTITY_CLIENT_SECRET'] as const) {
      if (c[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required when the checkout saga runs (INVENTORY_URL and PAYMENTS_URL set, SAGA_RUNNER_ENABLED): inventory and payments refuse its calls without a service token' });
    }
  }
});

export type OrdersConfig = z.output<typeof ordersConfigSchema>;

export function loadOrdersConfig(env: Record<string, string | undefined> = process.env): OrdersConfig {
  return loadConfig(ordersConfigSchema, env);
}
