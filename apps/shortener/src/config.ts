/**
 * Every configuration key of the URL shortener, with type, default and
 * meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, commaList, loadConfig } from '@bulwark/service-kit';

export const shortenerConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe("PostgreSQL URL of the tables' owner: migrations and grants at start."),
  SHORTENER_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('shortener').describe('PostgreSQL schema of links, referrers and the outbox.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(20).describe('Largest PostgreSQL pool size.'),
  PUBLIC_BASE_URL: z.url().default('http://localhost:8080/r/').describe('Base of the short URLs handed out (`<base><code>`): the gateway\'s /r/ route. A target under it is refused as a loop.'),
  OWN_BASE_URLS: commaList().default([]).describe('Other bases that reach our redirects (a second domain, the direct port): targets under them are refused as loops too.'),
  CODE_LENGTH: z.coerce.number().int().min(6).max(16).default(7).describe('Characters of a generated code (base 62).'),
  REDIS_URL: z.string().min(1).optional().describe('Redis of the link cache (L2, shared by the replicas, and invalidation on delete) and of the per-IP creation limit. Unset: an in-process cache only and no creation limit.'),
  LINK_CACHE_TTL_MS: z.coerce.number().int().positive().default(300_000).describe('Freshness of a cached code → target (jittered); a delete drops it on every instance at once.'),
  MISSING_CACHE_TTL_MS: z.coerce.number().int().positive().default(5_000).describe('How long an unknown code is remembered as unknown (a scan of random codes reaches the database once per code and TTL).'),
  PERMANENT_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(86_400).describe('Cache-Control max-age of a 301 (capped by the link\'s expiry).'),
  LINKS_PER_IP_PER_MINUTE: z.coerce.number().int().positive().default(100).describe('Links one client IP may create per minute (sliding window in Redis); 429 past it.'),
  CLICK_FLUSH_MS: z.coerce.number().int().positive().default(1_000).describe('Pause between writes of the clicks counted in memory (at most this much is lost to a SIGKILL).'),
  CLICK_MAX_PENDING: z.coerce.number().int().positive().default(200_000).describe('Clicks kept in memory while the database is away; newer ones are dropped and counted.'),
  KAFKA_BROKERS: commaList().optional().describe("Kafka bootstrap brokers. Set: the outbox relay publishes link and click events to SHORTENER_TOPIC (analytics reads them). Unset: events wait in the outbox."),
  SHORTENER_TOPIC: z.string().min(1).default('shortener.events').describe('Kafka topic of link and click events.'),
  OUTBOX_BATCH_SIZE: z.coerce.number().int().positive().default(500).describe('Events per outbox relay round.'),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(200).describe('Idle poll interval of the outbox relay.'),
  FLAGS_URL: z.url().optional().describe('apps/flags. Set: link creation reads the flag `shortener-link-creation` per tenant (false: creation paused, 503; absent: allowed) through the OpenFeature provider, evaluated locally from a streamed snapshot. Unset: creation is always allowed.'),
  FLAGS_SNAPSHOT_DIR: z.string().min(1).optional().describe("Where each tenant's last flags snapshot is kept, so a restart while flags is away still honours the last known flags."),
  OUTBOX_KEEP_SECONDS: z.coerce.number().int().positive().default(86_400).describe('How long published outbox rows are kept before the sweeper deletes them.'),
});

export type ShortenerConfig = z.output<typeof shortenerConfigSchema>;

export function loadShortenerConfig(env: Record<string, string | undefined> = process.env): ShortenerConfig {
  return loadConfig(shortenerConfigSchema, env);
}
