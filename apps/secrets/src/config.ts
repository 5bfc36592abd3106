/**
 * Every configuration key of the secrets service, with type, default and
 * meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@bulwark/service-kit';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const secretsConfigSchema = baseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8099).describe('TCP port to listen on; 0 picks a free port.'),
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): no superuser, no BYPASSRLS (checked at start).'),
  DATABASE_CREDENTIALS_FILE: z.string().min(1).optional().describe('JSON {"username","password"} that overrides DATABASE_URL\'s user and password on every new connection: the Secret the operator\'s DatabaseCredential rotates, mounted as a file; rotations need no restart.'),
  DATABASE_GRANT_ROLE: z.string().regex(/^[a-z_][a-z0-9_]*$/).optional().describe('Role the schema\'s data is granted to at start; default the runtime login role. With DATABASE_CREDENTIALS_FILE set it to the DatabaseCredential\'s NOLOGIN group role, so both alternating login roles inherit the grants.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe("PostgreSQL URL of the tables' owner: migrations and grants at start."),
  SECRETS_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('secrets').describe('PostgreSQL schema of secrets, versions, policies and the outbox.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10).describe('Largest PostgreSQL pool size.'),
  SECRETS_KEK_FILE: z.string().min(1).default('.local/secrets/kek.json').describe('Key ring of key-encryption keys: JSON {"active": n, "keys": {"<n>": "<base64 of 32 bytes>"}}. Adding a version and making it active rotates the KEK: data keys are re-wrapped at start, values are never re-encrypted. Old versions stay until no data key uses them (gauge secrets_data_keys_stale).'),
  SECRETS_KEK_JSON: z.string().min(1).optional().describe('The key ring as JSON text (from a Kubernetes Secret); wins over SECRETS_KEK_FILE. Never logged.'),
  SECRETS_KEK_CREATE: flag.default(true).describe('Create the key ring file with one random KEK when missing: dev and tests. false in a deployment, where a missing ring is a start failure.'),
  SECRETS_REWRAP_BATCH: z.coerce.number().int().positive().default(200).describe('Data keys re-wrapped per transaction after a KEK rotation.'),
  SECRETS_MAX_VALUE_BYTES: z.coerce.number().int().positive().default(65_536).describe('Largest secret value (UTF-8 bytes).'),
  JWKS_URL: z.url().describe("identity's JWKS: verifies the service tokens of /v1/internal/secrets."),
  JWT_ISSUER: z.string().min(1).describe('Expected iss of service tokens.'),
  JWT_AUDIENCE: z.string().min(1).default('bulwark').describe('Expected aud of service tokens.'),
  KAFKA_BROKERS: z.string().min(1).optional().describe('Comma-separated Kafka bootstrap brokers; unset: audit events wait in the outbox.'),
  SECRETS_TOPIC: z.string().min(1).default('secrets.events').describe('Topic of secret reads, writes and policy changes (apps/audit records them).'),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(500).describe('How often the outbox relay looks for unpublished events.'),
  OUTBOX_BATCH_SIZE: z.coerce.number().int().positive().default(200).describe('Events per relay round.'),
});

export type SecretsConfig = z.output<typeof secretsConfigSchema>;

export function loadSecretsConfig(env: Record<string, string | undefined> = process.env): SecretsConfig {
  return loadConfig(secretsConfigSchema, env);
}

