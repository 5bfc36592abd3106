/**
 * Every configuration key of the flags service, with type, default and
 * meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@bulwark/service-kit';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const flagsConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe("PostgreSQL URL of the tables' owner: migrations and grants at start."),
  FLAGS_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('flags').describe('PostgreSQL schema of flags, segments, the audit trail, scheduled changes and experiments.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10).describe('Largest PostgreSQL pool size.'),
  DEFAULT_ENVIRONMENT: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/).default('production').describe('Environment of OFREP evaluations whose context names none (`environment` attribute).'),
  SSE_HEARTBEAT_MS: z.coerce.number().int().positive().default(15_000).describe('Comment line sent on every snapshot stream this often; providers reopen a stream quiet for 3×.'),
  CHANGE_POLL_MS: z.coerce.number().int().positive().default(2_000).describe("Backstop poll of the tenants' latest revision, for changes whose NOTIFY this replica missed (listener reconnecting)."),
  SCHEDULER_INTERVAL_MS: z.coerce.number().int().positive().default(1_000).describe('How often due scheduled changes are looked for (any replica; SKIP LOCKED).'),
  MIN_SAMPLE_PER_VARIANT: z.coerce.number().int().positive().default(1_000).describe('Default minimum exposures per variant before an experiment shows a result.'),
  KAFKA_BROKERS: z.string().min(1).optional().describe('Comma-separated Kafka bootstrap brokers. Set: flag.changed and exposure events leave the outbox for FLAGS_TOPIC. Unset: they wait in the outbox.'),
  FLAGS_TOPIC: z.string().min(1).default('flags.events').describe("Kafka topic of flags' events (flag.changed, segment.changed, experiment.changed, exposure)."),
  OUTBOX_BATCH_SIZE: z.coerce.number().int().positive().default(500).describe('Events per outbox relay round.'),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(100).describe('Idle poll interval of the outbox relay.'),
  OFREP_ENABLED: flag.default(true).describe('Serve the OFREP endpoints (/ofrep/v1/evaluate/flags).'),
});

export type FlagsConfig = z.output<typeof flagsConfigSchema>;

export function loadFlagsConfig(env: Record<string, string | undefined> = process.env): FlagsConfig {
  return loadConfig(flagsConfigSchema, env);
}
