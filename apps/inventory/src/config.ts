/**
 * Every configuration key of the inventory service, with type, default and
 * meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, commaList, loadConfig } from '@bulwark/service-kit';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const inventoryConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): no owner, no superuser, no BYPASSRLS, so row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the tables\' owner: migrations and grants at start.'),
  INVENTORY_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('inventory').describe('PostgreSQL schema of stock, reservations and idempotency keys.'),
  RESERVATION_TTL_SECONDS: z.coerce.number().int().positive().max(86_400).default(900).describe('Hold time of a reservation that does not say ttlSeconds.'),
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().positive().default(86_400).describe('How long an Idempotency-Key and its response are kept.'),
  IDEMPOTENCY_CONCURRENT: z
    .enum(['conflict', 'wait'])
    .default('wait')
    .describe('A duplicate request while the first is in flight: wait for it and replay (default: a saga retrying after a client timeout gets the answer, not a 409 it could mistake for a stock-out), or 409 at once (conflict).'),
  IDEMPOTENCY_WAIT_MS: z.coerce.number().int().positive().default(10_000).describe('Longest wait of a duplicate in wait mode before 409 IDEMPOTENCY_KEY_IN_FLIGHT.'),
  IDEMPOTENCY_ENABLED: flag.default(true).describe('Benchmark baseline only (`npm run bench -- checkout`): false replaces the Idempotency-Key store by a plain request transaction, so a retried request runs twice. Never false in a deployment.'),
  SWEEPER_ENABLED: flag.default(true).describe('Run the expiry sweeper (reservations, idempotency keys) in this process; safe on every replica.'),
  SWEEP_INTERVAL_MS: z.coerce.number().int().positive().default(1_000).describe('Pause between sweeps when the last one found nothing to do.'),
  SWEEP_BATCH_SIZE: z.coerce.number().int().positive().max(10_000).default(100).describe('Expired reservations released per sweep transaction.'),
  KAFKA_BROKERS: z.string().min(1).optional().describe('Comma-separated host:port of Kafka bootstrap brokers; required when EVENTS_ENABLED.'),
  EVENTS_ENABLED: flag.default(true).describe('Run the outbox relay that publishes inventory events to Kafka (the outbox fills either way).'),
  INVENTORY_TOPIC: z.string().min(1).default('inventory.events').describe('Kafka topic of inventory events.'),
  INVENTORY_TOPIC_PARTITIONS: z.coerce.number().int().positive().default(6).describe('Partitions of INVENTORY_TOPIC when provisioning it.'),
  OUTBOX_BATCH_SIZE: z.coerce.number().int().positive().default(200).describe('Events per relay round.'),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(100).describe('Idle poll interval of the outbox relay.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(20).describe('Largest PostgreSQL pool size.'),
  JWKS_URL: z.url().describe("identity's JWKS (`<identity>/.well-known/jwks.json`): the service tokens on the internal routes (the orders saga's calls) are verified against it."),
  JWT_ISSUER: z.string().min(1).describe('Expected `iss` of service tokens: identity\'s JWT_ISSUER.'),
  JWT_AUDIENCE: z.string().min(1).default('bulwark').describe('Expected `aud` of service tokens: identity\'s JWT_AUDIENCE.'),
  INTERNAL_CLIENTS: commaList().default(['orders']).describe('Service clients (identity client ids) allowed on /v1/internal/reservations; another service\'s token gets 403 CLIENT_NOT_ALLOWED.'),
});

export type InventoryConfig = z.output<typeof inventoryConfigSchema>;

export function loadInventoryConfig(env: Record<string, string | undefined> = process.env): InventoryConfig {
  return loadConfig(inventoryConfigSchema, env);
}
