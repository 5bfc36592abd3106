/**
 * Every configuration key of the chat service, with type, default and
 * meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@bulwark/service-kit';

export const chatConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe("PostgreSQL URL of the tables' owner: migrations and grants at start."),
  CHAT_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('chat').describe('PostgreSQL schema of rooms, members, messages and blocks.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(20).describe('Largest PostgreSQL pool size.'),
  REDIS_URL: z.string().min(1).describe('Redis shared by the instances: room fan-out (pub/sub) and presence (heartbeats with deadlines).'),
  CHAT_REDIS_PREFIX: z.string().min(1).default('chat').describe('Prefix of every Redis key and channel of the chat (tests use a random one).'),
  JWKS_URL: z.url().describe("identity's JWKS (`<identity>/.well-known/jwks.json`): WebSocket connections are authenticated with identity's access tokens verified against it."),
  JWT_ISSUER: z.string().min(1).optional().describe("Expected `iss` of access tokens: identity's JWT_ISSUER (unchecked when unset)."),
  JWT_AUDIENCE: z.string().min(1).default('bulwark').describe("Expected `aud` of access tokens: identity's JWT_AUDIENCE."),
  IDENTITY_URL: z.url().optional().describe("identity's base URL: a long-lived connection's session is checked there (GET /v1/me with its token) every SESSION_CHECK_INTERVAL_MS; a revoked session is closed 4005. Unset: only the token's expiry ends a connection."),
  SESSION_CHECK_INTERVAL_MS: z.coerce.number().int().positive().default(60_000).describe('How often a connection checks its session at identity (IDENTITY_URL).'),
  WS_MAX_FRAME_BYTES: z.coerce.number().int().positive().default(65_536).describe('Largest frame a client may send; a larger one closes the connection 1009.'),
  WS_MAX_BUFFERED_BYTES: z.coerce.number().int().positive().default(1_048_576).describe('Bytes waiting to be sent to one client after which it is a slow consumer and is closed 4009 (memory stays bounded).'),
  WS_RATE_LIMIT: z.coerce.number().int().positive().default(20).describe('Frames a connection may send per second, sustained (token bucket).'),
  WS_RATE_BURST: z.coerce.number().int().positive().default(40).describe('Frames a connection may send at once (bucket size); frames over the limit are answered with an error frame, and a connection over it for RATE_LIMIT_STRIKES frames in a row is closed 4008.'),
  WS_RATE_LIMIT_STRIKES: z.coerce.number().int().positive().default(50).describe('Refused frames in a row after which a connection is closed 4008.'),
  WS_PING_INTERVAL_MS: z.coerce.number().int().positive().default(30_000).describe('Protocol ping to each client; a client that has not answered the previous ping is terminated.'),
  PRESENCE_HEARTBEAT_MS: z.coerce.number().int().positive().default(10_000).describe("How often an instance renews its connections' presence in Redis (and sweeps expired ones)."),
  PRESENCE_TTL_MS: z.coerce.number().int().positive().default(30_000).describe("A connection's presence lasts this long without a renewal: an instance that died stops counting after it."),
  TYPING_THROTTLE_MS: z.coerce.number().int().positive().default(2_000).describe('At most one typing indicator per connection and room in this interval; more are dropped.'),
  HISTORY_PAGE_MAX: z.coerce.number().int().positive().default(200).describe('Largest page of history (REST limit, and each resume batch over WebSocket).'),
});

export type ChatConfig = z.output<typeof chatConfigSchema>;

export function loadChatConfig(env: Record<string, string | undefined> = process.env): ChatConfig {
  return loadConfig(chatConfigSchema, env);
}
