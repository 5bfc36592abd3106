/**
 * Every configuration key of the collaborative documents service, with type,
 * default and meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@bulwark/service-kit';

export const collabConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe("PostgreSQL URL of the tables' owner: migrations and grants at start."),
  COLLAB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('collab').describe('PostgreSQL schema of documents, their update log and snapshots.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(20).describe('Largest PostgreSQL pool size.'),
  REDIS_URL: z.string().min(1).optional().describe('Redis whose pub/sub carries updates and awareness between instances. Unset: one instance only (clients of other instances would not see each other live).'),
  REDIS_PREFIX: z.string().min(1).default('collab').describe('Prefix of the pub/sub channels (one per loaded document).'),
  JWKS_URL: z.url().describe("identity's JWKS (`<identity>/.well-known/jwks.json`): access tokens are verified against it at the WebSocket upgrade."),
  JWT_ISSUER: z.string().min(1).describe("Expected `iss` of access tokens: identity's JWT_ISSUER."),
  JWT_AUDIENCE: z.string().min(1).default('bulwark').describe("Expected `aud` of access tokens: identity's JWT_AUDIENCE."),
  COMPACT_AFTER_UPDATES: z.coerce.number().int().positive().default(200).describe('Updates in a document\'s log that trigger a compaction: the snapshot and those updates are merged into one snapshot in one transaction.'),
  STORE_CONCURRENCY: z.coerce.number().int().positive().default(4).describe("Batches of one document's updates being stored (INSERT, commit) at once. Everything that arrived while they commit is the next batch (group commit); more than one lets an update skip waiting for the commit before its own. 1: one after the other."),
  DOC_UNLOAD_AFTER_MS: z.coerce.number().int().nonnegative().default(30_000).describe('How long a document stays in memory (and subscribed) after its last connection closed; it is compacted when unloaded.'),
  RESYNC_INTERVAL_MS: z.coerce.number().int().positive().default(5_000).describe('How often a document with clients re-reads its log: an update another instance stored but could not publish (it died, Redis was away) reaches this instance\'s clients within this interval.'),
  WS_MAX_MESSAGE_BYTES: z.coerce.number().int().positive().default(1_048_576).describe('Largest WebSocket message accepted; a larger one closes the connection with 1009.'),
  WS_PING_INTERVAL_MS: z.coerce.number().int().positive().default(30_000).describe('Ping interval; a connection that missed the previous pong is terminated.'),
});

export type CollabConfig = z.output<typeof collabConfigSchema>;

export function loadCollabConfig(env: Record<string, string | undefined> = process.env): CollabConfig {
  return loadConfig(collabConfigSchema, env);
}
