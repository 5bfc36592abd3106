/**
 * Every configuration key of the audit service, with type, default and
 * meaning; read once by main.ts (tests pass their own env object). The only
 * reader of process.env in this workspace besides the verifier CLI.
 */
import { z } from 'zod';
import { baseConfigSchema, commaList, loadConfig } from '@bulwark/service-kit';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const auditConfigSchema = baseConfigSchema.extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8094).describe('TCP port to listen on; 0 picks a free port.'),
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): INSERT and SELECT on the log, never UPDATE or DELETE; no superuser, no BYPASSRLS (checked at start).'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe("PostgreSQL URL of the tables' owner: migrations and grants at start."),
  AUDIT_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('audit').describe('PostgreSQL schema of the log (entries, tree_heads, log_head).'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10).describe('Largest PostgreSQL pool size.'),
  AUDIT_SIGNING_KEY_FILE: z.string().min(1).default('.local/audit/signing-key.pem').describe('PEM (PKCS#8) Ed25519 private key that signs entry timestamps and tree heads; its public half is the same path with .pub.pem. A file until secrets management hands keys out.'),
  AUDIT_SIGNING_KEY_PEM: z.string().min(1).optional().describe('The Ed25519 private key as PEM text (from a Secret); wins over AUDIT_SIGNING_KEY_FILE. Never logged.'),
  AUDIT_SIGNING_KEY_CREATE: flag.default(true).describe('Create the key file (and its public half) when missing: dev and tests. false in a deployment, where a missing key is a start failure.'),
  AUDIT_TREE_HEAD_INTERVAL_MS: z.coerce.number().int().positive().default(10_000).describe('How often a tree head is signed when the log grew.'),
  AUDIT_RETENTION_SWEEP_MS: z.coerce.number().int().nonnegative().default(3_600_000).describe('How often entries past their class retention are redacted (body dropped, hashes and signature kept); 0 turns the sweep off.'),
  AUDIT_EXPORT_BUCKET: z.string().min(3).optional().describe('Bucket closed periods (calendar months, UTC) are exported to, one NDJSON object each; unset: no export.'),
  AUDIT_EXPORT_S3_URL: z.url().optional().describe('S3 endpoint of AUDIT_EXPORT_BUCKET (path-style); unset: the AWS default.'),
  AUDIT_EXPORT_REGION: z.string().min(1).default('us-east-1').describe('S3 region.'),
  AUDIT_EXPORT_ACCESS_KEY: z.string().min(1).optional().describe('S3 access key id; unset: the SDK default chain.'),
  AUDIT_EXPORT_SECRET_KEY: z.string().min(1).optional().describe('S3 secret access key. Never logged.'),
  AUDIT_EXPORT_PREFIX: z.string().default('audit/periods/').describe('Key prefix of exported periods.'),
  AUDIT_EXPORT_OBJECT_LOCK: flag.default(true).describe('Write each period with object lock (COMPLIANCE, until the longest retention of its classes); the bucket must have object lock enabled.'),
  AUDIT_EXPORT_INTERVAL_MS: z.coerce.number().int().positive().default(3_600_000).describe('How often the previous month is exported if it is not yet.'),
  AUDIT_READER_ROLES: commaList().default(['auditor', 'admin']).describe('Roles (x-auth-roles from the gateway) that may read the log and its proofs; any one suffices.'),
  KAFKA_BROKERS: z.string().min(1).optional().describe('Comma-separated Kafka bootstrap brokers; required when EVENTS_ENABLED.'),
  EVENTS_ENABLED: flag.default(true).describe('Consume the security-relevant events of AUDIT_TOPICS into the log.'),
  AUDIT_TOPICS: commaList().default(['identity.events', 'payments.events', 'catalog.events', 'secrets.events']).describe('Topics whose security-relevant events (domain/event-classes.ts) are recorded; created when missing.'),
  AUDIT_GROUP: z.string().min(1).default('audit').describe('Kafka consumer group.'),
  AUDIT_FAST_CONSUMER: flag.default(false).describe('Short consumer timings (tests against the one local broker).'),
});

export type AuditConfig = z.output<typeof auditConfigSchema>;

export function loadAuditConfig(env: Record<string, string | undefined> = process.env): AuditConfig {
  return loadConfig(auditConfigSchema, env);
}

/** The verifier CLI's keys (`npm run audit -- verify`); flags win over them. */
export const auditVerifyConfigSchema = z.object({
  AUDIT_DATABASE_URL: z.string().min(1).optional().describe('PostgreSQL URL the verifier reads the log through (any role that may read the schema).'),
  BULWARK_PG_URL: z.string().min(1).optional().describe('The local PostgreSQL (scripts/audit.ts sets it); used when AUDIT_DATABASE_URL is unset.'),
  AUDIT_PUBLIC_KEY_FILES: commaList().default(['.local/audit/signing-key.pub.pem']).describe('Trusted public key files (SPKI PEM, comma-separated) of the log key, old ones included after a rotation.'),
});

export function loadAuditVerifyConfig(env: Record<string, string | undefined> = process.env): z.output<typeof auditVerifyConfigSchema> {
  return loadConfig(auditVerifyConfigSchema, env);
}
