/**
 * Every configuration key of the files service, with type, default and
 * meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, commaList, loadConfig } from '@bulwark/service-kit';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const bucket = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);

export const filesConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: z.string().min(1).describe('PostgreSQL URL of the runtime role (bulwark_app): row-level security applies; checked at start.'),
  MIGRATION_DATABASE_URL: z.string().min(1).describe("PostgreSQL URL of the tables' owner: migrations and grants at start."),
  FILES_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('files').describe('PostgreSQL schema of files and their outbox.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10).describe('Largest PostgreSQL pool size.'),
  S3_URL: z.url().describe('S3 endpoint the service talks to (path-style).'),
  S3_PUBLIC_URL: z.url().optional().describe('S3 endpoint as clients reach it, for pre-signed URLs; default S3_URL.'),
  S3_REGION: z.string().min(1).default('us-east-1').describe('Region the requests are signed for.'),
  S3_ACCESS_KEY: z.string().min(1).describe('S3 access key id.'),
  S3_SECRET_KEY: z.string().min(1).describe('S3 secret access key.'),
  QUARANTINE_BUCKET: bucket.default('files-quarantine').describe('Where every upload lands; nothing is ever served from it.'),
  CLEAN_BUCKET: bucket.default('files-clean').describe('Where scanned, clean files are promoted; downloads are pre-signed GETs into it.'),
  CLAMD_HOST: z.string().min(1).describe("clamd's host (TCP, INSTREAM)."),
  CLAMD_PORT: z.coerce.number().int().min(1).max(65_535).describe("clamd's TCP port."),
  CLAMD_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000).describe('Longest wait for one scan before it counts as a failed attempt.'),
  MAX_FILE_BYTES: z.coerce.number().int().positive().max(5 * 1024 ** 3).default(25 * 1024 ** 2).describe('Largest upload; larger declared sizes get 413 before any byte is sent.'),
  TENANT_QUOTA_BYTES: z.coerce.number().int().positive().default(1024 ** 3).describe('Bytes a tenant may hold (quarantined and clean files count; rejected do not).'),
  ALLOWED_TYPES: commaList()
    .default(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'text/plain'])
    .describe('Declared content types accepted; the content must match by its magic bytes.'),
  MULTIPART_PART_BYTES: z.coerce.number().int().min(5 * 1024 ** 2).max(5 * 1024 ** 3).default(8 * 1024 ** 2).describe('Files larger than this are uploaded as S3 multipart parts of this size (the last smaller), each by its own pre-signed PUT: a failed part is sent again alone. S3 needs 5 MiB at least.'),
  UPLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900).describe('Life of a pre-signed PUT.'),
  DOWNLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(300).describe('Life of a pre-signed GET.'),
  SCANNER_ENABLED: flag.default(true).describe('Run the scanner (quarantine → clamd → clean or rejected) in this process; safe on every replica.'),
  SCAN_INTERVAL_MS: z.coerce.number().int().positive().default(500).describe('Pause between scanner rounds that found nothing due.'),
  SCAN_BATCH: z.coerce.number().int().positive().max(100).default(4).describe('Files claimed per scanner round.'),
  SCAN_LEASE_SECONDS: z.coerce.number().int().positive().default(120).describe('How long a claimed file is the claimant\'s; a scanner that dies leaves it to be claimed again after this.'),
  SCAN_RETRY_BASE_MS: z.coerce.number().int().positive().default(1_000).describe('First retry delay after a failed scan attempt (clamd or storage away); doubles, full jitter.'),
  SCAN_RETRY_CAP_MS: z.coerce.number().int().positive().default(60_000).describe('Longest retry delay of a failed scan attempt.'),
  KAFKA_BROKERS: z.string().min(1).optional().describe('Comma-separated Kafka bootstrap brokers; required when EVENTS_ENABLED.'),
  EVENTS_ENABLED: flag.default(true).describe('Run the outbox relay that publishes files events to Kafka (the outbox fills either way).'),
  FILES_TOPIC: z.string().min(1).default('files.events').describe('Kafka topic of files events.'),
  FILES_TOPIC_PARTITIONS: z.coerce.number().int().positive().default(3).describe('Partitions of FILES_TOPIC when provisioning it.'),
  OUTBOX_BATCH_SIZE: z.coerce.number().int().positive().default(200).describe('Events per relay round.'),
  OUTBOX_POLL_MS: z.coerce.number().int().positive().default(200).describe('Idle poll interval of the outbox relay.'),
});

export type FilesConfig = z.output<typeof filesConfigSchema>;

export function loadFilesConfig(env: Record<string, string | undefined> = process.env): FilesConfig {
  return loadConfig(filesConfigSchema, env);
}
