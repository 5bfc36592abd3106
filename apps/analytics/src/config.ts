/**
 * Every configuration key of analytics, with type, default and meaning; read
 * once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, commaList, loadConfig } from '@bulwark/service-kit';

export const analyticsConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe("PostgreSQL URL of the tables' owner: migrations, grants and the daily partitions."),
  ANALYTICS_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('analytics').describe('PostgreSQL schema of the events table and its partitions.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10).describe('Largest PostgreSQL pool size.'),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(4 * 1_048_576).describe('Largest accepted JSON body (a batch of 1,000 events).'),
  KAFKA_BROKERS: commaList().describe('Kafka bootstrap brokers: the ingest topic is the buffer between the API and PostgreSQL.'),
  INGEST_TOPIC: z.string().min(1).default('analytics.ingest').describe('Topic the API publishes accepted events to; the writer reads it.'),
  INGEST_TOPIC_PARTITIONS: z.coerce.number().int().positive().default(6).describe('Partitions of INGEST_TOPIC when it is created.'),
  PLATFORM_TOPICS: commaList().default(['shortener.events', 'orders.events', 'flags.events']).describe("The platform's own event topics read as analytics events (shortener clicks, order events, flag exposures; flags' change events are skipped)."),
  PLATFORM_DEFAULT_TENANT: z.string().min(1).optional().describe('Tenant of a platform event that names none (the shortener\'s events carry no tenant yet). Unset: such events are skipped and counted.'),
  WRITER_GROUP: z.string().min(1).default('analytics-writer').describe('Consumer group of the writer (Kafka → PostgreSQL).'),
  WRITER_ENABLED: z.enum(['true', 'false']).transform((v) => v === 'true').default(true).describe('Run the writer in this process (false: API only, another process writes).'),
  WRITER_SESSION_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000).describe('Consumer session timeout: how long a dead writer holds its partitions before the group moves them (heartbeats every tenth of it).'),
  WRITER_MAX_WAIT_MS: z.coerce.number().int().positive().default(500).describe('Longest a fetch waits for data (bounds the idle loop and shutdown).'),
  WRITER_MAX_BYTES: z.coerce.number().int().positive().default(4 * 1_048_576).describe('Largest fetch per partition; bounds one written batch.'),
  ACCEPT_PAST_DAYS: z.coerce.number().int().min(0).max(60).default(7).describe('Oldest occurredAt accepted, in days before now (partitions exist that far back).'),
  ACCEPT_FUTURE_MS: z.coerce.number().int().min(0).default(300_000).describe('Clock skew allowed for occurredAt ahead of now.'),
  RAW_RETENTION_DAYS: z.coerce.number().int().min(0).default(0).describe('Days of raw events kept: older day partitions are dropped (checked hourly and at start); their hourly rollups stay, so hour/day series still answer. 0 keeps every day. Raised to ACCEPT_PAST_DAYS + 2 if lower (a day still accepting events is never dropped).'),
  PARTITION_DAYS_AHEAD: z.coerce.number().int().min(1).max(30).default(3).describe('Daily partitions created ahead of today (checked hourly and at start).'),
  RETENTION_MAX_COHORTS: z.coerce.number().int().positive().default(400).describe('Most cohorts (days or weeks) one retention query may span.'),
  EXPORT_FETCH_ROWS: z.coerce.number().int().min(10).max(50_000).default(1_000).describe('Rows per FETCH of the export cursor (one write to the client each; the next waits for it to drain).'),
  LIVE_POLL_MS: z.coerce.number().int().min(50).default(1_000).describe('How often a live feed (GET /v1/live) reads the changed hourly buckets.'),
  UPLOAD_MAX_BYTES: z.coerce.number().int().positive().default(100 * 1_048_576).describe('Largest upload (POST /v1/uploads), refused at Content-Length or while counting.'),
  UPLOAD_MAX_ROW_BYTES: z.coerce.number().int().positive().default(65_536).describe('Longest row of an upload (characters); a longer one is refused on its own.'),
  UPLOAD_MAX_ERRORS: z.coerce.number().int().positive().default(1_000).describe('Refused rows listed in an upload report (all are counted).'),
  UPLOAD_CHUNK_ROWS: z.coerce.number().int().positive().max(1_000).default(1_000).describe('Valid rows of an upload published to Kafka at a time (the most held in memory).'),
  SERIES_MAX_BUCKETS: z.coerce.number().int().positive().default(10_000).describe('Most buckets one series query may span.'),
});

export type AnalyticsConfig = z.output<typeof analyticsConfigSchema>;

export function loadAnalyticsConfig(env: Record<string, string | undefined> = process.env): AnalyticsConfig {
  return loadConfig(analyticsConfigSchema, env);
}
