/**
 * Every configuration key of the content service, with type, default and
 * meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, commaList, loadConfig } from '@bulwark/service-kit';

export const contentConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe("PostgreSQL URL of the tables' owner: migrations and grants at start."),
  CONTENT_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('content').describe('PostgreSQL schema of articles, revisions and the outbox.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10).describe('Largest PostgreSQL pool size.'),
  KAFKA_BROKERS: commaList().optional().describe('Kafka bootstrap brokers. Set: the outbox relay publishes article events (with the surrogate keys the edge purges) to CONTENT_TOPIC. Unset: events wait in the outbox.'),
  CONTENT_TOPIC: z.string().min(1).default('content.events').describe('Kafka topic of article events; the edge reads it for purges.'),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(200).describe('Idle poll interval of the outbox relay.'),
  SCHEDULER_INTERVAL_MS: z.coerce.number().int().positive().default(1_000).describe('How often scheduled articles whose publish_at has passed are published.'),
  PUBLIC_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(60).describe('s-maxage of public reads at the edge (a change purges sooner); browsers get max-age=0.'),
  PUBLIC_STALE_SECONDS: z.coerce.number().int().min(0).default(300).describe('stale-while-revalidate and stale-if-error of public reads.'),
  MODERATION_BLOCKED_WORDS: commaList().default(['casino', 'viagra', 'crypto-giveaway']).describe('Words that send an article to the moderation queue.'),
  MODERATION_MAX_LINKS: z.coerce.number().int().min(0).default(10).describe('More links than this in a body sends the article to the moderation queue.'),
});

export type ContentConfig = z.output<typeof contentConfigSchema>;

export function loadContentConfig(env: Record<string, string | undefined> = process.env): ContentConfig {
  return loadConfig(contentConfigSchema, env);
}
